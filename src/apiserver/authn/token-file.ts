import { readFileSync } from 'node:fs'
import { unauthorized } from '../errors.ts'
import type { Authenticator, UserInfo } from './authenticator.ts'

/**
 * Static bearer tokens from a CSV file, as kube-apiserver's --token-auth-file:
 * `token,user,uid[,"group1,group2,..."]` per line; blank lines and lines starting with # are
 * skipped. A request with a bearer token the file does not hold gets 401.
 */
export function tokenFileAuthenticator(path: string): Authenticator {
  const tokens = parseTokenFile(readFileSync(path, 'utf8'), path)
  return {
    authenticate(req) {
      const token = bearerToken(req.headers.authorization)
      if (token === undefined) return undefined
      const user = tokens.get(token)
      if (!user) throw unauthorized()
      return user
    },
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m ? m[1] : undefined
}

export function parseTokenFile(text: string, path: string): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>()
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const fields = parseCsvLine(line)
    const [token, name, uid, groups] = fields
    if (fields.length < 3 || !token || !name) {
      throw new Error(`${path}:${i + 1}: expected token,user,uid[,"groups"]`)
    }
    tokens.set(token, {
      name,
      ...(uid ? { uid } : {}),
      groups: groups
        ? groups
            .split(',')
            .map((g) => g.trim())
            .filter((g) => g !== '')
        : [],
    })
  })
  return tokens
}

function parseCsvLine(line: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (ch === '"') quoted = false
      else cur += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out.map((f) => f.trim())
}
