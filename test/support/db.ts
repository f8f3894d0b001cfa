import { inject } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../src/db/scratchDatabase';

export type TestDb = ScratchDatabase;

/** A fresh, migrated database of its own for one test file, on the real PostgreSQL server. */
export const createTestDb = (): Promise<TestDb> => createScratchDatabase(inject('adminDatabaseUrl'));
