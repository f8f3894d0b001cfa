-- Up Migration
-- Any change to a module's config bumps updated_at, so runtimes that cache the config (keyed by
-- override_version and updated_at) see an operator's edit (e.g. learning_overrides_enabled) at once.
CREATE FUNCTION learning_configs_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A writer that sets updated_at itself (the learning cycle) keeps its value.
  IF NEW.config_data IS DISTINCT FROM OLD.config_data AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := clock_timestamp();
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER learning_configs_touch BEFORE UPDATE ON learning_configs
  FOR EACH ROW EXECUTE FUNCTION learning_configs_touch();

-- Down Migration
DROP TRIGGER IF EXISTS learning_configs_touch ON learning_configs;
DROP FUNCTION IF EXISTS learning_configs_touch();
