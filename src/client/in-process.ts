import { createPrivateKey, randomBytes, sign } from 'node:crypto'
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { type InProcessHello, PortSocket, proofDigest, proofText } from '../base/in-process.ts'
import type { ClientConfig } from './config.ts'

/**
 * Opens a connection to the apiserver through its in-process listener (src/base/in-process.ts),
 * presenting the config's client certificate, with proof of its key, where TLS would.
 */
export function connectInProcess(
  listener: MessagePort,
  config: Pick<ClientConfig, 'cert' | 'key'>,
): PortSocket {
  const { port1, port2 } = new MessageChannel()
  const hello: InProcessHello =
    config.cert !== undefined && config.key !== undefined
      ? { port: port2, certificate: config.cert, proof: proofOf(config.key) }
      : { port: port2 }
  listener.postMessage(hello, [port2])
  return new PortSocket(port1)
}

function proofOf(keyPem: string): NonNullable<InProcessHello['proof']> {
  const key = createPrivateKey(keyPem)
  const nonce = randomBytes(16).toString('hex')
  return { nonce, signature: sign(proofDigest(key), proofText(nonce), key).toString('base64') }
}
