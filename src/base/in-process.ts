import type { KeyObject } from 'node:crypto'
import { Duplex } from 'node:stream'
import type { MessagePort } from 'node:worker_threads'

/**
 * The in-process transport of DESIGN.md: components that share the apiserver's process (the
 * controller-manager's and the scheduler's threads in `k8ts up`) reach it without TCP and TLS, and
 * their requests still go through the whole pipeline (authentication, authorization, admission,
 * encoding). The bytes are HTTP/1.1 as over a socket; what carries them is a MessagePort per
 * connection:
 *
 *   client thread                                         apiserver thread
 *   listener.postMessage(hello{port, certificate, proof}) ──▶ verify the certificate and the proof
 *   PortSocket(port1)  ◀── Uint8Array | ack | end ──▶  PortSocket(port2) ─▶ http server 'connection'
 *
 * The listener port is the apiserver's (ApiServer.inProcessListener): each message on it opens one
 * connection. A client certificate takes the place of TLS's: the client sends it with a signature
 * made with its key (`proofText`), which the apiserver checks against the certificate, so that the
 * connection names whoever holds the key, as a TLS handshake would.
 */
export interface InProcessHello {
  /** The connection's end that the apiserver keeps. */
  readonly port: MessagePort
  /** The client certificate (PEM, leaf first), when the client has one. */
  readonly certificate?: string
  /** The key's signature (base64) of proofText(nonce), and the nonce. */
  readonly proof?: { readonly nonce: string; readonly signature: string }
}

/** What the client signs with its key to show it holds the certificate's key. */
export function proofText(nonce: string): Buffer {
  return Buffer.from(`k8ts in-process connection ${nonce}`)
}

/** The digest the proof is signed with: none for Ed25519 and Ed448 (they sign the text itself). */
export function proofDigest(key: KeyObject): 'sha256' | null {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256'
}

/** Message on a connection's port: bytes, an acknowledgement of bytes read, or the end of the stream. */
type Message = Uint8Array | number | null

/**
 * A byte stream over a MessagePort, shaped as much like a net.Socket as node:http's server and
 * undici's client use one. Writes are flow-controlled as TCP's are: at most `window` bytes travel
 * unread; beyond that a write's callback waits for the reader to take them, so that the writer's
 * writableLength grows (the apiserver ends a watch whose reader stops reading).
 */
export class PortSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1'
  readonly remoteFamily = 'IPv4'
  readonly remotePort = 0
  readonly localAddress = '127.0.0.1'
  readonly localPort = 0
  readonly #port: MessagePort
  readonly #window: number
  /** Bytes sent and not yet acknowledged by the reader. */
  #unacked = 0
  /** A write's callback held until acknowledgements bring #unacked under the window. */
  #blocked: ((err?: Error | null) => void) | undefined
  /** Bytes pushed to this side's readers while they wanted no more: acknowledged once they read. */
  #unread = 0
  /** Bytes read and not yet acknowledged (acknowledged in batches). */
  #toAck = 0
  #idle: NodeJS.Timeout | undefined
  #idleMs = 0

  constructor(port: MessagePort, o: { window?: number } = {}) {
    super({ allowHalfOpen: false })
    this.#port = port
    this.#window = o.window ?? 1024 * 1024
    port.on('message', (m: Message) => this.#receive(m))
    port.on('close', () => this.destroy())
  }

  #receive(m: Message): void {
    this.#activity()
    if (m === null) {
      this.push(null)
      return
    }
    if (typeof m === 'number') {
      this.#unacked -= m
      if (this.#blocked && this.#unacked <= this.#window) {
        const cb = this.#blocked
        this.#blocked = undefined
        cb()
      }
      return
    }
    const chunk = Buffer.from(m.buffer, m.byteOffset, m.byteLength)
    if (this.push(chunk)) this.#read(chunk.length)
    else this.#unread += chunk.length
  }

  /** Acknowledges bytes read, a quarter window at a time (a writer waits only past the window). */
  #read(n: number): void {
    this.#toAck += n
    if (this.#toAck >= this.#window / 4) {
      const ack = this.#toAck
      this.#toAck = 0
      this.#port.postMessage(ack satisfies Message)
    }
  }

  override _read(): void {
    if (this.#unread === 0) return
    const n = this.#unread
    this.#unread = 0
    this.#read(n)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send(new Uint8Array(chunk), cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let size = 0
    for (const c of chunks) size += c.chunk.length
    const bytes = new Uint8Array(size)
    let at = 0
    for (const c of chunks) {
      bytes.set(c.chunk, at)
      at += c.chunk.length
    }
    this.#send(bytes, cb)
  }

  /** Sends bytes of this stream's own (copied from the caller's): their buffer moves, not copied again. */
  #send(bytes: Uint8Array<ArrayBuffer>, cb: (err?: Error | null) => void): void {
    this.#activity()
    // (Counted before the move: a moved buffer is empty here.)
    this.#unacked += bytes.byteLength
    this.#port.postMessage(bytes satisfies Message, [bytes.buffer])
    if (this.#unacked <= this.#window) cb()
    else this.#blocked = cb
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#port.postMessage(null satisfies Message)
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.#idle)
    this.#port.close()
    cb(err)
  }

  /** As net.Socket's: 'timeout' once nothing was sent or received for `ms` (0 turns it off). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout)
    this.#idleMs = ms
    clearTimeout(this.#idle)
    this.#idle = ms > 0 ? setTimeout(() => this.emit('timeout'), ms).unref() : undefined
    return this
  }

  #activity(): void {
    this.#idle?.refresh()
  }

  /** Whether the stream keeps its thread alive, as a socket's handle does (an idle pooled one does not). */
  ref(): this {
    this.#port.ref()
    return this
  }

  unref(): this {
    this.#port.unref()
    return this
  }

  setNoDelay(): this {
    return this
  }

  setKeepAlive(): this {
    return this
  }

  /** The idle timeout set, as net.Socket's `timeout`. */
  get timeout(): number {
    return this.#idleMs
  }
}
