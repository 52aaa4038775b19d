/**
 * What a fake container's process does, worked out from its command line without running
 * anything: a tiny interpreter for the commands Kubernetes examples and tests give containers
 * (`true`, `false`, `sleep 5`, `sh -c 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600'`,
 * `exit 3`, `echo`, `cat FILE` for exec probes). Time is virtual: `sleep` moves a cursor, so the
 * outcome is a plan (exit at +N ms with code C, these file changes at these times) that the fake
 * runtime lays on its clock.
 *
 * Anything it does not know is taken as a long-running program (a server) for a container's main
 * process, and as a command that succeeds at once for exec. Shell control structures (while, for,
 * if, ...) are taken as running forever from there on: real containers use them for endless loops.
 */

export interface FileChange {
  afterMs: number
  path: string
  /** The new content; undefined removes the file. */
  content: string | undefined
}

/** One write to stdout or stderr, at a time relative to the start: what the container's log records. */
export interface OutputWrite {
  afterMs: number
  stream: 'stdout' | 'stderr'
  text: string
}

export interface ProcessOutcome {
  /** When and how it ends; undefined: it runs until it is stopped. */
  exit: { afterMs: number; exitCode: number } | undefined
  stdout: string
  stderr: string
  /** stdout and stderr as they are written, in time order. */
  writes: OutputWrite[]
  /** File changes it makes, in time order. */
  fileChanges: FileChange[]
}

export interface RunOptions {
  /** The files of the container when it starts (read only; changes go to fileChanges). */
  files?: ReadonlyMap<string, string>
  /** 'main': an unknown command runs forever; 'exec': it succeeds at once. */
  mode: 'main' | 'exec'
}

/** Runs argv (a container's command and args, or an exec command) in virtual time. */
export function runProcess(argv: readonly string[], options: RunOptions): ProcessOutcome {
  const state: State = {
    nowMs: 0,
    files: new Map(options.files ?? []),
    stdout: [],
    stderr: [],
    writes: [],
    fileChanges: [],
    status: 0,
    mode: options.mode,
  }
  // No command line at all: the image's own process (an image config the fake was not told of),
  // taken as a server like any other program it does not know.
  const result = argv.length === 0 && options.mode === 'main' ? forever : runSimple([...argv], state, {})
  return {
    exit: result === forever ? undefined : { afterMs: state.nowMs, exitCode: result.exitCode },
    stdout: state.stdout.join(''),
    stderr: state.stderr.join(''),
    writes: state.writes,
    fileChanges: state.fileChanges,
  }
}

interface State {
  nowMs: number
  files: Map<string, string>
  stdout: string[]
  stderr: string[]
  writes: OutputWrite[]
  fileChanges: FileChange[]
  /** $? */
  status: number
  mode: 'main' | 'exec'
}

const forever = Symbol('forever')
/** How a command list ended: it ran to its end (status in state), exited, or never ends. */
type Flow = 'next' | { exitCode: number } | typeof forever
type Result = { exitCode: number } | typeof forever

interface Output {
  /** Where stdout goes: the process's stdout, stderr, a file (appending or not), or nowhere. */
  stdout?: Sink
  stderr?: Sink
}
type Sink = 'stdout' | 'stderr' | 'null' | { path: string; append: boolean }

/** Commands that finish at once; their output, if any, is not modelled. */
const quiet = new Set([
  'date',
  'env',
  'id',
  'whoami',
  'uname',
  'pwd',
  'hostname',
  'mkdir',
  'chmod',
  'sync',
  'trap',
])
const shells = new Set(['sh', 'bash', 'ash', 'dash', 'zsh'])
const controlWords = new Set(['while', 'until', 'for', 'if', 'case', 'select', 'function', '{', '('])

function runSimple(words: string[], state: State, out: Output): Result {
  const [first, ...args] = words
  if (first === undefined) return { exitCode: state.status }
  const name = first.slice(first.lastIndexOf('/') + 1)
  const done = (code: number): { exitCode: number } => {
    state.status = code
    return { exitCode: code }
  }
  const write = (sink: Sink | undefined, text: string, fallback: 'stdout' | 'stderr') => {
    const to = sink ?? fallback
    if (to === 'null') return
    if (to === 'stdout' || to === 'stderr') {
      state[to].push(text)
      state.writes.push({ afterMs: state.nowMs, stream: to, text })
    } else {
      const content = (to.append ? (state.files.get(to.path) ?? '') : '') + text
      setFile(state, to.path, content)
      // The shell empties a `>` file once, when it opens it: the command's later writes follow.
      to.append = true
    }
  }
  const fail = (message: string, code = 1) => {
    write(out.stderr, message + '\n', 'stderr')
    return done(code)
  }

  if (shells.has(name)) {
    const script = shellScript(args)
    if (script === undefined) return forever // an interactive shell waits for input
    return runScript(script, state)
  }
  switch (name) {
    case 'true':
    case ':':
      return done(0)
    case 'false':
      return done(1)
    case 'exec':
      return runSimple(args, state, out)
    case 'sleep': {
      const ms = sleepMs(args)
      if (ms === undefined) return fail(`sleep: invalid number '${args.join(' ')}'`)
      if (ms === Infinity) return forever
      state.nowMs += ms
      return done(0)
    }
    case 'echo': {
      const newline = args[0] !== '-n'
      const text = (newline ? args : args.slice(1)).join(' ')
      write(out.stdout, text + (newline ? '\n' : ''), 'stdout')
      return done(0)
    }
    case 'printf':
      write(
        out.stdout,
        (args[0] ?? '').replaceAll('\\n', '\n').replaceAll('%s', () => args[1] ?? ''),
        'stdout',
      )
      return done(0)
    case 'touch':
      for (const f of args.filter((a) => !a.startsWith('-'))) setFile(state, f, state.files.get(f) ?? '')
      return done(0)
    case 'rm': {
      const force = args.some((a) => a.startsWith('-') && a.includes('f'))
      let code = 0
      for (const f of args.filter((a) => !a.startsWith('-'))) {
        if (state.files.has(f)) setFile(state, f, undefined)
        else if (!force) code = fail(`rm: can't remove '${f}': No such file or directory`).exitCode
      }
      return done(code)
    }
    case 'cat': {
      let code = 0
      for (const f of args.filter((a) => !a.startsWith('-'))) {
        const content = state.files.get(f)
        if (content === undefined) code = fail(`cat: can't open '${f}': No such file or directory`).exitCode
        else write(out.stdout, content, 'stdout')
      }
      return done(code)
    }
    case 'ls': {
      let code = 0
      for (const f of args.filter((a) => !a.startsWith('-'))) {
        if (state.files.has(f)) write(out.stdout, f + '\n', 'stdout')
        else code = fail(`ls: ${f}: No such file or directory`).exitCode
      }
      return done(code)
    }
    case 'test':
    case '[':
      return done(test(name === '[' ? args.slice(0, -1) : args, state) ? 0 : 1)
    case 'exit': {
      const code = args[0] === undefined ? state.status : Number.parseInt(args[0], 10)
      return { exitCode: Number.isNaN(code) ? 2 : code & 0xff }
    }
    default:
      if (quiet.has(name)) return done(0)
      return state.mode === 'main' ? forever : done(0)
  }
}

/** The script of `sh -c SCRIPT` (flags such as -e, -x, -ec allowed), or undefined without -c. */
function shellScript(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? ''
    if (!a.startsWith('-')) return undefined
    if (a.includes('c')) return args[i + 1] ?? ''
  }
  return undefined
}

function runScript(script: string, state: State): Result {
  const flow = runList(tokenize(script), state)
  if (flow === 'next') return { exitCode: state.status }
  return flow
}

/** A list: simple commands joined by ; && || & | and newlines, run left to right. */
function runList(tokens: Token[], state: State): Flow {
  let skip = false
  let words: string[] = []
  const out: Output = {}
  let pendingRedirect: { fd: 1 | 2; append: boolean } | undefined
  const flush = (): Flow => {
    const cmd = words
    const redirect = { ...out }
    words = []
    delete out.stdout
    delete out.stderr
    if (cmd.length === 0 || skip) return 'next'
    if (controlWords.has(cmd[0] ?? '')) return forever
    const r = runSimple(cmd, state, redirect)
    if (r === forever) return forever
    state.status = r.exitCode
    // `exit` ends the script; other commands just set $?.
    return cmd[0] === 'exit' ? r : 'next'
  }
  for (const t of tokens) {
    if (t.kind === 'word') {
      if (pendingRedirect) {
        const sink: Sink = t.text === '/dev/null' ? 'null' : { path: t.text, append: pendingRedirect.append }
        if (pendingRedirect.fd === 1) out.stdout = sink
        else out.stderr = sink
        pendingRedirect = undefined
      } else {
        words.push(t.text)
      }
      continue
    }
    switch (t.op) {
      case '>':
      case '>>':
        pendingRedirect = { fd: t.fd, append: t.op === '>>' }
        continue
      case '>&':
        if (t.fd === 1) out.stdout = t.target === 2 ? 'stderr' : 'stdout'
        else out.stderr = t.target === 1 ? (out.stdout ?? 'stdout') : 'stderr'
        continue
      default: {
        const background = t.op === '&'
        if (background) {
          // A background job neither blocks nor sets $?: leave it out.
          words = []
          delete out.stdout
          delete out.stderr
          skip = false
          continue
        }
        const flow = flush()
        if (flow !== 'next') return flow
        // && and || bind equally, left to right; a skipped command leaves $? as it was, so
        // whether the next one runs depends only on $? now. A pipe runs both sides.
        skip = t.op === '&&' ? state.status !== 0 : t.op === '||' ? state.status === 0 : false
      }
    }
  }
  return flush()
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'op'; op: ';' | '&&' | '||' | '&' | '|'; fd?: undefined; target?: undefined }
  | { kind: 'op'; op: '>' | '>>'; fd: 1 | 2; target?: undefined }
  | { kind: 'op'; op: '>&'; fd: 1 | 2; target: 1 | 2 }

/** Splits a script into words (quotes removed) and operators. No expansion of $VAR or globs. */
export function tokenize(script: string): Token[] {
  const tokens: Token[] = []
  let word: string | undefined
  const end = () => {
    if (word !== undefined) tokens.push({ kind: 'word', text: word })
    word = undefined
  }
  for (let i = 0; i < script.length; i++) {
    const c = script.charAt(i)
    const next = script.charAt(i + 1)
    if (c === "'" || c === '"') {
      const close = script.indexOf(c, i + 1)
      const stop = close < 0 ? script.length : close
      word = (word ?? '') + script.slice(i + 1, stop)
      i = stop
    } else if (c === '\\' && i + 1 < script.length) {
      word = (word ?? '') + next
      i++
    } else if (c === ' ' || c === '\t') {
      end()
    } else if (c === '#' && word === undefined) {
      const nl = script.indexOf('\n', i)
      i = nl < 0 ? script.length : nl - 1
    } else if (c === ';' || c === '\n') {
      end()
      tokens.push({ kind: 'op', op: ';' })
    } else if (c === '&' || c === '|') {
      end()
      if (next === c) {
        tokens.push({ kind: 'op', op: c === '&' ? '&&' : '||' })
        i++
      } else {
        tokens.push({ kind: 'op', op: c })
      }
    } else if (c === '>' || ((c === '1' || c === '2') && next === '>' && word === undefined)) {
      end()
      const fd: 1 | 2 = c === '2' ? 2 : 1
      if (c !== '>') i++
      if (script.charAt(i + 1) === '&' && /[12]/.test(script.charAt(i + 2))) {
        tokens.push({ kind: 'op', op: '>&', fd, target: script.charAt(i + 2) === '2' ? 2 : 1 })
        i += 2
      } else if (script.charAt(i + 1) === '>') {
        tokens.push({ kind: 'op', op: '>>', fd })
        i++
      } else {
        tokens.push({ kind: 'op', op: '>', fd })
      }
    } else {
      word = (word ?? '') + c
    }
  }
  end()
  return tokens
}

function setFile(state: State, path: string, content: string | undefined): void {
  if (content === undefined) state.files.delete(path)
  else state.files.set(path, content)
  state.fileChanges.push({ afterMs: state.nowMs, path, content })
}

/** `sleep` arguments: numbers with an optional s/m/h/d suffix, summed (GNU sleep); 'infinity'. */
function sleepMs(args: readonly string[]): number | undefined {
  if (args.length === 0) return undefined
  let total = 0
  for (const a of args) {
    if (a === 'infinity' || a === 'inf') return Infinity
    const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(a)
    if (!m) return undefined
    const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      m[2] as '' | 's' | 'm' | 'h' | 'd'
    ]
    total += Number(m[1]) * unit
  }
  return Math.round(total)
}

function test(args: readonly string[], state: State): boolean {
  if (args[0] === '!') return !test(args.slice(1), state)
  const [op, operand] = args
  if (args.length === 2 && operand !== undefined) {
    switch (op) {
      case '-e':
      case '-f':
        return state.files.has(operand)
      case '-s':
        return (state.files.get(operand) ?? '') !== ''
      case '-z':
        return operand === ''
      case '-n':
        return operand !== ''
    }
  }
  if (args.length === 3) {
    const [a, cmp, b] = args
    if (cmp === '=' || cmp === '==') return a === b
    if (cmp === '!=') return a !== b
  }
  return args.length === 1 ? args[0] !== '' : true
}
