-- Up Migration
-- Spec §9.2: rr_baseline (§4.4) is set "like the policy", so every config version records it too and a
-- rollback restores it: config_data.rr_baseline as stored when the version was written (JSON null: no
-- key, the default 1.0). SQL NULL: a version written before this column, which knows nothing of it (a
-- rollback to it leaves the live rr_baseline as it is).
ALTER TABLE learning_config_versions ADD COLUMN rr_baseline JSONB;

-- Down Migration
ALTER TABLE learning_config_versions DROP COLUMN IF EXISTS rr_baseline;
