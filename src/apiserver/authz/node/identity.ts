import type { UserInfo } from '../../authn/authenticator.ts'

/** The group every kubelet's credentials carry. */
export const nodesGroup = 'system:nodes'

/** A kubelet's user name is this prefix and its node's name. */
export const nodeUserNamePrefix = 'system:node:'

/**
 * The node a user speaks for, as kube-apiserver's default node identifier reads it: a user named
 * `system:node:<name>` in the group system:nodes is the node `<name>`. Undefined when the user is
 * not a node; '' when it is one but names no node (`system:node:`), which the Node authorizer
 * and NodeRestriction refuse.
 */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(nodeUserNamePrefix)) return undefined
  if (!user.groups.includes(nodesGroup)) return undefined
  return user.name.slice(nodeUserNamePrefix.length)
}
