import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The project root (this file lives in src/). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const projectPath = (...parts: string[]) => join(PROJECT_ROOT, ...parts);
