import { readFileSync } from 'node:fs'
import type { UserInfo } from './authenticator.ts'
import type { TokenAuthenticator } from './token.ts'

/**
 * Static bearer tokens from a CSV file, as kube-apiserver's --token-auth-file:
 * `token,user,uid[,"group1,group2,..."]` per line; blank lines and lines starting with # are
 * skipped. A token the file does not hold is left to the other token authenticators.
 */
export function tokenFileAuthenticator(path: string): TokenAuthenticator {
  const tokens = parseTokenFile(readFileSync(path, 'utf8'), path)
  return {
    authenticateToken(token) {
      const user = tokens.get(token)
      return user ? { kind: 'authenticated', user, audiences: [] } : undefined
    },
  }
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
