// What docs/guide.md asks its reader to write and run, read from its code
// blocks: the files (a ts or jsonc block whose first line is `// <path>`)
// and the commands of its sh blocks, in the order the guide gives them.
// The consumer test runs them in an installed project.

/** A file the guide has its reader save. */
export interface GuideFile {
  /** Relative to the reader's project. */
  path: string;
  text: string;
}

/** Lines that set up the project, which the consumer test does its own way (npm ci of the packed tarball). */
const SET_UP = /^(sudo |npm (init|pkg|install)\b|LIBTORCH=)/;

/** The files of the guide's ts and jsonc blocks that name their path on their first line. */
export function guideFiles(markdown: string): GuideFile[] {
  const files: GuideFile[] = [];
  for (const block of markdown.matchAll(/```(?:ts|jsonc)\n([\s\S]*?)```/g)) {
    const path = /^\/\/ ([\w./-]+)\n/.exec(block[1]!)?.[1];
    if (path === undefined) throw new Error(`docs/guide.md: a code block does not start with '// <path>', the file its reader saves it as:\n${block[1]!.slice(0, 200)}`);
    files.push({ path, text: block[1]! });
  }
  return files;
}

/**
 * The commands of the guide's sh blocks (continuation lines joined, comments
 * removed) that run something in the project: `npx ...` and `node ...`. A
 * line that is neither one of those nor a set-up step is an error, so that
 * no command of the guide goes untested.
 */
export function guideCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.replace(/\\\n/g, ' ').split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (line === '' || line.startsWith('#') || SET_UP.test(line)) continue;
      if (!/^(npx|node) /.test(line)) throw new Error(`docs/guide.md: the test does not know how to run '${line}' (it runs npx and node commands)`);
      commands.push(line);
    }
  }
  return commands;
}
