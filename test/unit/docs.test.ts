/**
 * README.md and docs/ stay true to the code: every pmctl command they quote still parses (its
 * subcommand exists, each option it names is one of that command's, and its --help prints). Every
 * Markdown file of the repository links only inside it (a clone has nothing beside it: no ../shared),
 * and each relative link resolves, anchors included.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from '../../src/cli/context';
import { COMMAND_GROUPS } from '../../src/cli/registry';
import { projectPath } from '../../src/paths';

const DOCS = [projectPath('README.md'), ...readdirSync(projectPath('docs')).map((f) => projectPath('docs', f))].filter(
  (f) => f.endsWith('.md'),
);
const text = (file: string) => readFileSync(file, 'utf8');

/** Folders that are not the repository's own text: dependencies, git, local state. */
const NOT_OURS = new Set(['node_modules', '.git', '.data', '.temporal', 'dist', 'coverage']);

/** Every Markdown file of the repository, wherever it is. */
function markdownFiles(dir = projectPath()): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (NOT_OURS.has(e.name)) return [];
    const path = resolve(dir, e.name);
    if (e.isDirectory()) return markdownFiles(path);
    return e.name.endsWith('.md') ? [path] : [];
  });
}

/** The targets of a Markdown file's links: inline `[text](target)` and reference `[id]: target`. */
const linkTargets = (md: string): string[] => [
  ...[...md.matchAll(/\[[^\]]*\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
  ...[...md.matchAll(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]),
];
const name = (file: string) => relative(projectPath(), file);

/** Words of a shell command line: quotes kept together, a backslash-newline joins lines. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && line[i + 1] === '\n') i++;
    else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === '#' && word === null)
      break; // a comment
    else word = (word ?? '') + c;
  }
  if (word !== null) out.push(word);
  return out;
}

const PREFIX = /(?:^|\s)(?:bin\/pmctl|npm run -s pmctl --|pmctl)\s+/;

/** The pmctl command lines a markdown file quotes: in code blocks, and in inline code. */
function quotedCommands(md: string): string[] {
  const found: string[] = [];
  const blocks = md.split(/^```.*$/m).filter((_, i) => i % 2 === 1);
  for (const block of blocks) {
    // A command runs on while a line ends with a backslash or leaves a quote open.
    let current: string | null = null;
    for (const line of block.split('\n')) {
      if (current !== null) current += '\n' + line;
      else if (PREFIX.test(line)) current = line;
      else continue;
      const open = (current.replace(/"[^"]*"/g, '').match(/'/g) ?? []).length % 2 === 1;
      if (!open && !current.endsWith('\\')) {
        found.push(current);
        current = null;
      }
    }
  }
  const prose = md.split(/^```.*$/m).filter((_, i) => i % 2 === 0);
  for (const p of prose) for (const m of p.matchAll(/`([^`\n]+)`/g)) found.push(m[1]);
  // Table cells and prose quote commands without the prefix (`cycle run --as-of …`): kept when their
  // first word is a top-level command.
  const top = new Set(COMMAND_GROUPS.flatMap((g) => g.commands));
  return found
    .map((c) => (PREFIX.test(c) ? c.slice(c.search(PREFIX)).replace(PREFIX, '') : c))
    .filter((c) => top.has(words(c)[0] ?? ''));
}

async function program(): Promise<Command> {
  const p = new Command('pmctl').exitOverride();
  for (const g of COMMAND_GROUPS) (await g.load())(p, new CliContext());
  return p;
}

/** The subcommand a quoted line names, and the options it uses that the command does not have. */
function resolveCommand(root: Command, line: string) {
  const argv = words(line);
  let cmd = root;
  const path: string[] = [];
  for (const w of argv) {
    const sub = cmd.commands.find((c) => c.name() === w);
    if (!sub) break;
    cmd = sub;
    path.push(w);
  }
  const known = new Set(['--help', ...cmd.options.map((o) => o.long)]);
  const unknown = argv
    .map((w) => w.replace(/^\[|\]$/g, ''))
    .filter((w) => /^--[a-z]/.test(w))
    .map((w) => w.split('=')[0])
    .filter((w) => !known.has(w));
  return { path, unknown };
}

describe('the documentation', () => {
  it('quotes pmctl commands that still parse, each with a working --help', async () => {
    const root = await program();
    let checked = 0;
    for (const file of DOCS) {
      for (const line of quotedCommands(text(file))) {
        const { path, unknown } = resolveCommand(root, line);
        expect(unknown, `${name(file)}: \`${line}\``).toEqual([]);
        let help = '';
        const p = await program();
        const quiet = (c: Command): void => {
          c.configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) }).exitOverride();
          c.commands.forEach(quiet);
        };
        quiet(p);
        const err = await p.parseAsync([...path, '--help'], { from: 'user' }).catch((e: unknown) => e);
        expect(err, `${name(file)}: pmctl ${path.join(' ')} --help`).toBeInstanceOf(CommanderError);
        expect((err as CommanderError).code).toBe('commander.helpDisplayed');
        expect(help).toMatch(/^Usage: pmctl/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('runs pmctl through npm only with -s (else npm prints its banner into the output)', () => {
    for (const file of DOCS) expect(text(file), name(file)).not.toMatch(/npm run pmctl\b/);
  });

  it('finds every Markdown file of the repository, the front door and the docs among them', () => {
    const files = markdownFiles().map(name);
    for (const f of [...DOCS.map(name), 'CONTRIBUTING.md']) expect(files).toContain(f);
  });

  it('links nothing outside the repository: no ../shared, no relative link above its root', () => {
    const outside: string[] = [];
    for (const file of markdownFiles()) {
      // Named in prose or code too: the folder beside a checkout is not the users'.
      if (/\.\.\/shared\b/.test(text(file))) outside.push(`${name(file)}: names ../shared`);
      for (const target of linkTargets(text(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // http(s), mailto; same page
        const path = decodeURIComponent(target.split('#')[0]);
        const to = resolve(path.startsWith('/') ? projectPath() : dirname(file), path.replace(/^\//, ''));
        if (relative(projectPath(), to).startsWith('..')) outside.push(`${name(file)}: ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('has relative links that resolve to files of the repository, anchors included', () => {
    const slug = (heading: string) =>
      heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
    const anchors = (file: string) =>
      new Set([...text(file).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1].replace(/`/g, ''))));
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      for (const target of linkTargets(text(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http(s), mailto
        const [path, anchor] = target.split('#');
        const to = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
        if (!existsSync(to)) broken.push(`${name(file)}: ${target} (no such file)`);
        else if (anchor && to.endsWith('.md') && !anchors(to).has(anchor))
          broken.push(`${name(file)}: ${target} (no heading #${anchor})`);
        checked++;
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it('README links every page of docs/ (a page nobody links is found by nobody)', () => {
    const readme = text(projectPath('README.md'));
    for (const f of readdirSync(projectPath('docs'))) expect(readme).toContain(`(docs/${f})`);
  });
});
