import { createPrivateKey, randomBytes, sign } from 'node:crypto'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import {
  type InProcessHello,
  type InProcessListenerMessage,
  Link,
  type LinkSocket,
  proofDigest,
  proofText,
} from '../base/in-process.ts'
import type { ClientConfig } from './config.ts'

/**
 * Opens a connection to the apiserver through its in-process listener (src/base/in-process.ts),
 * presenting the config's client certificate, with proof of its key, where TLS would. The
 * connections of a thread to one listener share a link, made with the first of them and again
 * when it closed (the apiserver's worker that served it ended); once the listener closes (the
 * apiserver stopped), connections fail at once.
 */
export function connectInProcess(
  listener: MessagePort,
  config: Pick<ClientConfig, 'cert' | 'key'>,
): LinkSocket {
  const hello: InProcessHello =
    config.cert !== undefined && config.key !== undefined
      ? { certificate: config.cert, proof: proofOf(config.key) }
      : {}
  return linkOf(listener).open(hello)
}

interface Listening {
  link: Link
  /** The listener closed: the link is, and no other is made. */
  closed: boolean
}

const listening = new WeakMap<MessagePort, Listening>()

function linkOf(listener: MessagePort): Link {
  const l = listening.get(listener)
  if (l && (l.closed || !l.link.closed)) return l.link
  const { port1, port2 } = new MessageChannel()
  listener.postMessage({ link: port2 } satisfies InProcessListenerMessage, [port2])
  const link = new Link(port1)
  if (l) {
    l.link = link
    return link
  }
  const made: Listening = { link, closed: false }
  listening.set(listener, made)
  listener.once('close', () => {
    made.closed = true
    made.link.close()
  })
  return link
}

function proofOf(keyPem: string): NonNullable<InProcessHello['proof']> {
  const key = createPrivateKey(keyPem)
  const nonce = randomBytes(16).toString('hex')
  return { nonce, signature: sign(proofDigest(key), proofText(nonce), key).toString('base64') }
}
