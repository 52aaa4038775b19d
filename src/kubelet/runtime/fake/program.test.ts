import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runProcess, type ProcessOutcome } from './program.ts'

const exit = (afterMs: number, exitCode: number) => ({ afterMs, exitCode })

const cases: {
  name: string
  argv: string[]
  mode?: 'main' | 'exec'
  files?: Record<string, string>
  want: Partial<ProcessOutcome>
}[] = [
  { name: '`true` exits 0 at once', argv: ['true'], want: { exit: exit(0, 0) } },
  { name: '`/bin/false` exits 1 at once', argv: ['/bin/false'], want: { exit: exit(0, 1) } },
  { name: '`sleep 5` exits 0 after five seconds', argv: ['sleep', '5'], want: { exit: exit(5000, 0) } },
  { name: '`sleep 1m 0.5` adds up', argv: ['sleep', '1m', '0.5'], want: { exit: exit(60_500, 0) } },
  { name: '`sleep infinity` never exits', argv: ['sleep', 'infinity'], want: { exit: undefined } },
  { name: 'an unknown program runs until stopped', argv: ['/agnhost', 'netexec'], want: { exit: undefined } },
  { name: "no command line (the image's own) runs until stopped", argv: [], want: { exit: undefined } },
  {
    name: 'an unknown exec command succeeds',
    argv: ['/agnhost', 'version'],
    mode: 'exec',
    want: { exit: exit(0, 0) },
  },
  { name: 'a shell without -c waits for input', argv: ['sh'], want: { exit: undefined } },
  {
    name: 'sh -c runs a list and exits with its last status',
    argv: ['sh', '-c', 'sleep 2; echo done; false'],
    want: { exit: exit(2000, 1), stdout: 'done\n' },
  },
  {
    name: '`exit N` ends the script there',
    argv: ['/bin/sh', '-c', 'exit 3; sleep 10'],
    want: { exit: exit(0, 3) },
  },
  {
    name: '&& runs the next only on success',
    argv: ['sh', '-c', 'false && exit 4'],
    want: { exit: exit(0, 1) },
  },
  {
    name: '|| runs the next only on failure',
    argv: ['sh', '-c', 'false || exit 4'],
    want: { exit: exit(0, 4) },
  },
  {
    name: '&& and || bind left to right',
    argv: ['sh', '-c', 'true || echo no && echo yes'],
    want: { exit: exit(0, 0), stdout: 'yes\n' },
  },
  {
    name: 'a while loop runs forever',
    argv: ['sh', '-c', 'while true; do sleep 1; done'],
    want: { exit: undefined },
  },
  {
    name: 'echo to stderr and quoting',
    argv: ['sh', '-ec', `echo "a  b" 'c;d' >&2`],
    want: { exit: exit(0, 0), stderr: 'a  b c;d\n', stdout: '' },
  },
  {
    name: 'cat of a missing file fails as busybox does',
    argv: ['cat', '/tmp/healthy'],
    mode: 'exec',
    want: { exit: exit(0, 1), stderr: "cat: can't open '/tmp/healthy': No such file or directory\n" },
  },
  {
    name: 'cat prints a file it is given',
    argv: ['cat', '/tmp/healthy'],
    mode: 'exec',
    files: { '/tmp/healthy': 'ok\n' },
    want: { exit: exit(0, 0), stdout: 'ok\n' },
  },
  {
    name: 'cat of two files into a `>` file writes both, emptying it only once',
    argv: ['sh', '-c', 'cat /a /b > /out'],
    files: { '/a': 'a\n', '/b': 'b\n', '/out': 'old\n' },
    want: {
      exit: exit(0, 0),
      fileChanges: [
        { afterMs: 0, path: '/out', content: 'a\n' },
        { afterMs: 0, path: '/out', content: 'a\nb\n' },
      ],
    },
  },
  {
    name: 'test -f sees files',
    argv: ['sh', '-c', '[ -f /ready ] && exit 0 || exit 9'],
    mode: 'exec',
    files: { '/ready': '' },
    want: { exit: exit(0, 0) },
  },
  {
    name: 'file changes are dated by the sleeps before them',
    argv: [
      'sh',
      '-c',
      'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; echo x > /a; echo y >> /a; sleep 600',
    ],
    want: {
      exit: exit(630_000, 0),
      fileChanges: [
        { afterMs: 0, path: '/tmp/healthy', content: '' },
        { afterMs: 30_000, path: '/tmp/healthy', content: undefined },
        { afterMs: 30_000, path: '/a', content: 'x\n' },
        { afterMs: 30_000, path: '/a', content: 'x\ny\n' },
      ],
    },
  },
  {
    name: '2>/dev/null drops stderr',
    argv: ['sh', '-c', 'cat /nope 2>/dev/null'],
    want: { stderr: '', exit: exit(0, 1) },
  },
  { name: 'a comment is ignored', argv: ['sh', '-c', 'exit 2 # not 3'], want: { exit: exit(0, 2) } },
  {
    name: 'each write to stdout or stderr is kept with its time (the log), not those to files',
    argv: ['sh', '-c', 'echo a; sleep 2; echo b > /f; cat /nope; echo -n c'],
    want: {
      writes: [
        { afterMs: 0, stream: 'stdout', text: 'a\n' },
        { afterMs: 2000, stream: 'stderr', text: "cat: can't open '/nope': No such file or directory\n" },
        { afterMs: 2000, stream: 'stdout', text: 'c' },
      ],
    },
  },
]

for (const c of cases) {
  test(c.name, () => {
    const got = runProcess(c.argv, { mode: c.mode ?? 'main', files: new Map(Object.entries(c.files ?? {})) })
    const picked = Object.fromEntries(Object.keys(c.want).map((k) => [k, got[k as keyof ProcessOutcome]]))
    assert.deepEqual(picked, c.want)
  })
}
