import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** README.md and every Markdown file under docs/, as paths relative to the repository root. */
function markdownFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.md')) files.push(file);
    }
  };
  walk('docs');
  return files;
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** Every relative link `[text](target)` of a file, with its line number. */
function relativeLinks(file: string): { target: string; line: number }[] {
  const lines = prose(readFileSync(file, 'utf8')).split('\n');
  return lines.flatMap((text, index) =>
    [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .map((target) => ({ target, line: index + 1 })),
  );
}

describe('documentation links', () => {
  it('the anchor rule matches GitHub for headings with code and punctuation', () => {
    const found = anchors('# A\n## Recognising the sticks (`fieldgate init`)\n## Using it\n## Using it\n');
    expect([...found]).toEqual(['a', 'recognising-the-sticks-fieldgate-init', 'using-it', 'using-it-1']);
  });

  it.each(markdownFiles())('every relative link in %s points at an existing file and heading', (file) => {
    const broken: string[] = [];
    for (const { target, line } of relativeLinks(file)) {
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart === '' ? file : path.join(path.dirname(file), decodeURI(pathPart));
      if (!existsSync(resolved)) {
        broken.push(`${file}:${line}: ${target} (no such file)`);
        continue;
      }
      if (
        anchor !== undefined &&
        resolved.endsWith('.md') &&
        !anchors(readFileSync(resolved, 'utf8')).has(anchor)
      )
        broken.push(`${file}:${line}: ${target} (no heading with that anchor in ${resolved})`);
    }
    expect(broken).toEqual([]);
  });
});
