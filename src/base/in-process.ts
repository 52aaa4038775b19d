import type { KeyObject } from 'node:crypto'
import { Duplex } from 'node:stream'
import type { MessagePort } from 'node:worker_threads'

/**
 * The in-process transport of DESIGN.md: components that share the apiserver's process (the
 * controller-manager's and the scheduler's threads in `k8ts up`) reach it without TCP and TLS, and
 * their requests still go through the whole pipeline (authentication, authorization, admission,
 * encoding). The bytes are HTTP/1.1 as over a socket; what carries them is a Link, one MessagePort
 * between a client's thread and the apiserver thread that serves it, for all their connections:
 *
 *   client thread                                         apiserver (main thread)
 *   listener.postMessage({ link: port2 }) ─────────────▶  serves the link, or has a worker serve it
 *   Link(port1) ◀──── batches: open(hello) | bytes | ack | end | close, by connection ────▶ Link(port2)
 *   link.open(hello) ─▶ LinkSocket                        accept(hello) ─▶ LinkSocket ─▶ http 'connection'
 *
 * The listener port is the apiserver's (ApiServer.inProcessListener). A link sends what its
 * connections write during one turn of the event loop as one message, when the turn ends: each
 * message costs the sender a system call to wake the receiving thread and the receiver a wakeup,
 * and a busy apiserver writes a turn's watch events and responses to dozens of a thread's
 * connections at once (in bench sim, 5 thousand messages instead of 127 thousand, and a tenth
 * less CPU in the apiserver's thread).
 *
 * A client certificate takes the place of TLS's: the client opens a connection with it and a
 * signature made with its key (`proofText`), which the apiserver checks against the certificate,
 * so that the connection names whoever holds the key, as a TLS handshake would.
 */
export interface InProcessHello {
  /** The client certificate (PEM, leaf first), when the client has one. */
  readonly certificate?: string
  /** The key's signature (base64) of proofText(nonce), and the nonce. */
  readonly proof?: { readonly nonce: string; readonly signature: string }
}

/** What a client thread sends on the apiserver's listener: the apiserver's end of a new link. */
export interface InProcessListenerMessage {
  readonly link: MessagePort
}

/** What a client signs with its key to show it holds the certificate's key. */
export function proofText(nonce: string): Buffer {
  return Buffer.from(`k8ts in-process connection ${nonce}`)
}

/** The digest the proof is signed with: none for Ed25519 and Ed448 (they sign the text itself). */
export function proofDigest(key: KeyObject): 'sha256' | null {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448' ? null : 'sha256'
}

// What a frame does to its connection.
const opOpen = 0
const opBytes = 1
const opAck = 2
const opEnd = 3
const opClose = 4

/** One message on a link: the frames of one turn of the sender's event loop, in order. */
interface Batch {
  /**
   * Three numbers a frame: the connection, the op, and the op's number (bytes: how many, taken in
   * turn from `bytes`; ack: how many were read; the others: 0).
   */
  readonly frames: number[]
  /** The bytes of the turn's bytes frames, one after the other. */
  readonly bytes?: Uint8Array
  /** The hellos of the turn's open frames, in turn. */
  readonly hellos?: InProcessHello[]
}

/** A connection's place on its link, for the LinkSocket made there. */
export interface LinkEnd {
  readonly link: Link
  readonly id: number
}

/** A batch is sent at once, not at the turn's end, once it holds this many bytes. */
const maxBatchBytes = 1024 * 1024

/**
 * One end of a link. The client's side opens connections (`open`); the apiserver's accepts them
 * (`accept`, which makes the connection's LinkSocket, or refuses it with undefined: the client's
 * connection then closes at once, as a refused TLS handshake does). When the port closes (the
 * other thread closed it or ended), every connection on it closes.
 *
 * The link keeps its thread alive while one of its connections does (a LinkSocket is ref'd as
 * a net.Socket is, until unref'd: an idle pooled one is not).
 */
export class Link {
  readonly #port: MessagePort
  readonly #accept: ((hello: InProcessHello, end: LinkEnd) => LinkSocket | undefined) | undefined
  readonly #sockets = new Map<number, LinkSocket>()
  #nextId = 1
  #refs = 0
  #closed = false
  // The batch being gathered.
  #frames: number[] = []
  /** The batch's bytes so far (copied as they are written: a writer may reuse its buffer once told it was written). */
  #bytes: Uint8Array | undefined
  #size = 0
  #hellos: InProcessHello[] = []
  #scheduled = false

  constructor(
    port: MessagePort,
    o: { accept?: (hello: InProcessHello, end: LinkEnd) => LinkSocket | undefined } = {},
  ) {
    this.#port = port
    this.#accept = o.accept
    port.on('message', (b: Batch) => this.#receive(b))
    port.on('close', () => this.#ended())
    port.unref()
  }

  /** Whether the link is closed: its connections are, and it opens no more. */
  get closed(): boolean {
    return this.#closed
  }

  /** Opens a connection (the client's side); on a closed link, one that fails at once. */
  open(hello: InProcessHello = {}, o: { window?: number } = {}): LinkSocket {
    const id = this.#nextId++
    const socket = new LinkSocket({ link: this, id }, o)
    if (this.#closed) {
      process.nextTick(() =>
        socket.destroy(new Error('the in-process transport is closed: the apiserver stopped')),
      )
      return socket
    }
    this.#hellos.push(hello)
    this.send(id, opOpen, 0)
    return socket
  }

  /** Closes the link and every connection on it. */
  close(): void {
    this.#port.close()
    this.#ended()
  }

  /** (LinkSocket's) A connection made on this link, from now on sent what arrives for it. */
  attach(id: number, socket: LinkSocket): void {
    this.#sockets.set(id, socket)
    this.reffed(1)
  }

  /** (LinkSocket's) A connection closed on this side: the other side's closes too. */
  detach(id: number, reffed: boolean): void {
    if (reffed) this.reffed(-1)
    // (Closed by the other side, it is gone from the map already: nothing to tell.)
    if (this.#sockets.delete(id)) this.send(id, opClose, 0)
  }

  /** (LinkSocket's) One more or one fewer connection keeps the thread alive. */
  reffed(by: 1 | -1): void {
    this.#refs += by
    if (this.#closed) return
    if (by > 0 && this.#refs === 1) this.#port.ref()
    else if (this.#refs === 0) this.#port.unref()
  }

  /** (LinkSocket's) A frame for the batch, with its bytes (n of them, copied here) if it carries some. */
  send(id: number, op: number, n: number, bytes?: readonly Uint8Array[]): void {
    if (this.#closed) return
    this.#frames.push(id, op, n)
    if (bytes) {
      let into = this.#bytes
      if (!into || into.byteLength < this.#size + n) {
        into = new Uint8Array(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(this.#size + n))))
        if (this.#bytes) into.set(this.#bytes.subarray(0, this.#size))
        this.#bytes = into
      }
      for (const b of bytes) {
        into.set(b, this.#size)
        this.#size += b.byteLength
      }
    }
    if (this.#size >= maxBatchBytes) this.#flush()
    else if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#atTurnEnd)
    }
  }

  readonly #atTurnEnd = (): void => {
    this.#scheduled = false
    this.#flush()
  }

  #flush(): void {
    if (this.#frames.length === 0 || this.#closed) return
    const batch: { frames: number[]; bytes?: Uint8Array; hellos?: InProcessHello[] } = {
      frames: this.#frames,
    }
    const transfer: ArrayBuffer[] = []
    if (this.#bytes && this.#size > 0) {
      // The buffer moves to the other thread (a view of what it holds); the next batch makes another.
      batch.bytes = this.#bytes.subarray(0, this.#size)
      transfer.push(this.#bytes.buffer as ArrayBuffer)
    }
    if (this.#hellos.length > 0) batch.hellos = this.#hellos
    this.#clearBatch()
    this.#port.postMessage(batch satisfies Batch, transfer)
  }

  #clearBatch(): void {
    this.#frames = []
    this.#bytes = undefined
    this.#size = 0
    this.#hellos = []
  }

  #receive(b: Batch): void {
    const { frames, bytes } = b
    let at = 0
    let hello = 0
    for (let i = 0; i < frames.length; i += 3) {
      const id = frames[i] as number
      const op = frames[i + 1] as number
      const n = frames[i + 2] as number
      const socket = this.#sockets.get(id)
      switch (op) {
        case opBytes:
          // A view of the batch's bytes: they moved here, nobody else holds them.
          if (bytes) socket?.received(Buffer.from(bytes.buffer, bytes.byteOffset + at, n))
          at += n
          break
        case opAck:
          socket?.acknowledged(n)
          break
        case opEnd:
          socket?.push(null)
          break
        case opClose:
          // Out of the map first: its destroy then tells the other side nothing.
          if (socket) {
            this.#sockets.delete(id)
            socket.destroy()
          }
          break
        case opOpen: {
          const h = b.hellos?.[hello++] ?? {}
          if (this.#accept?.(h, { link: this, id }) === undefined) this.send(id, opClose, 0)
          break
        }
      }
    }
  }

  #ended(): void {
    if (this.#closed) return
    this.#closed = true
    this.#clearBatch()
    for (const socket of this.#sockets.values()) socket.destroy()
    this.#sockets.clear()
  }
}

/**
 * A connection on a link, shaped as much like a net.Socket as node:http's server and undici's
 * client use one. Writes are flow-controlled as TCP's are: at most `window` bytes travel unread;
 * beyond that a write's callback waits for the reader to take them, so that the writer's
 * writableLength grows (the apiserver ends a watch whose reader stops reading).
 */
export class LinkSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1'
  readonly remoteFamily = 'IPv4'
  readonly remotePort = 0
  readonly localAddress = '127.0.0.1'
  readonly localPort = 0
  readonly #link: Link
  readonly #id: number
  readonly #window: number
  #reffed = true
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

  constructor(end: LinkEnd, o: { window?: number } = {}) {
    super({ allowHalfOpen: false })
    this.#link = end.link
    this.#id = end.id
    this.#window = o.window ?? 1024 * 1024
    end.link.attach(end.id, this)
  }

  /** (The link's) Bytes the other side wrote. */
  received(chunk: Buffer): void {
    this.#activity()
    if (this.push(chunk)) this.#read(chunk.length)
    else this.#unread += chunk.length
  }

  /** (The link's) The other side read this many of the bytes sent. */
  acknowledged(n: number): void {
    this.#activity()
    this.#unacked -= n
    if (this.#blocked && this.#unacked <= this.#window) {
      const cb = this.#blocked
      this.#blocked = undefined
      cb()
    }
  }

  /** Acknowledges bytes read, a quarter window at a time (a writer waits only past the window). */
  #read(n: number): void {
    this.#toAck += n
    if (this.#toAck >= this.#window / 4) {
      const ack = this.#toAck
      this.#toAck = 0
      this.#link.send(this.#id, opAck, ack)
    }
  }

  override _read(): void {
    if (this.#unread === 0) return
    const n = this.#unread
    this.#unread = 0
    this.#read(n)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send([chunk], chunk.byteLength, cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let size = 0
    for (const c of chunks) size += c.chunk.byteLength
    this.#send(
      chunks.map((c) => c.chunk),
      size,
      cb,
    )
  }

  #send(bytes: readonly Uint8Array[], size: number, cb: (err?: Error | null) => void): void {
    this.#activity()
    this.#unacked += size
    this.#link.send(this.#id, opBytes, size, bytes)
    if (this.#unacked <= this.#window) cb()
    else this.#blocked = cb
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#link.send(this.#id, opEnd, 0)
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.#idle)
    this.#link.detach(this.#id, this.#reffed)
    this.#reffed = false
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

  /** Whether the connection keeps its thread alive, as a socket's handle does (an idle pooled one does not). */
  ref(): this {
    if (!this.#reffed && !this.destroyed) {
      this.#reffed = true
      this.#link.reffed(1)
    }
    return this
  }

  unref(): this {
    if (this.#reffed) {
      this.#reffed = false
      this.#link.reffed(-1)
    }
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
