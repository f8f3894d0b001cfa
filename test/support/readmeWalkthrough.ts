/**
 * The README's commands as data, so a test walks what the README says today rather than a copy of
 * it: one section's ```bash blocks, each block's `bin/pmctl` lines split into arguments the way a
 * shell splits them (single quotes literal, double quotes with \" and \\ escapes). A placeholder the
 * reader fills in (`<an earlier version>`) stays one word, brackets included, for the test to replace.
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../../src/paths';

export interface ReadmeCommand {
  /** 1-based number of the ```bash block within the section. */
  block: number;
  /** The line as the README prints it. */
  line: string;
  /** Its arguments after `bin/pmctl`. */
  args: string[];
}

/** The section whose heading starts with `## ${heading}`, up to the next `## ` heading. */
export function readmeSection(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`## ${heading}`));
  if (start < 0) throw new Error(`README has no section "## ${heading}"`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/**
 * Splits one command line into words as a POSIX shell would (no variables, no globbing), except that
 * `<…>` at the start of a word is a placeholder, not a redirection.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word = word ?? '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unclosed " in: ${line}`);
    } else if (c === ' ' || c === '\t') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === '<' && word === null) {
      const end = line.indexOf('>', i + 1);
      if (end < 0) throw new Error(`unclosed < in: ${line}`);
      words.push(line.slice(i, end + 1));
      i = end;
    } else if (c === '#' && word === null) {
      break;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Every `bin/pmctl` line of the section's ```bash blocks, in order. */
export function pmctlCommands(section: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let block = 0;
  let inBash = false;
  for (const raw of section.split('\n')) {
    const line = raw.trim();
    if (!inBash && line === '```bash') {
      inBash = true;
      block++;
    } else if (inBash && line.startsWith('```')) {
      inBash = false;
    } else if (inBash && line.startsWith('bin/pmctl ')) {
      out.push({ block, line, args: shellWords(line).slice(1) });
    }
  }
  return out;
}

/** The README's learning-quality walkthrough, as it reads now. */
export const learningWalkthrough = (): ReadmeCommand[] =>
  pmctlCommands(readmeSection(readFileSync(projectPath('README.md'), 'utf8'), 'Does learning help?'));
