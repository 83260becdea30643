/** Shared app state and page plumbing: config, router, the <main> element, titles, focus, sign-in gating. */
import type { AppConfig } from './config'
import { getMe, type Me } from './api'
import { currentUser } from './auth'
import { replace, type Child } from './dom'
import type { Router } from './router'

export const app = {
  config: null as unknown as AppConfig,
  router: null as unknown as Router,
  main: null as unknown as HTMLElement,
  firstRender: true,
  /** the signed-in user's roles (GET /me); null when signed out or not known */
  me: null as Me | null,
}

const SITE = 'Media Library'

/** Put a page into <main>, set the document title and move focus to the heading (after the first load). */
export function showPage(title: string, ...children: Child[]): void {
  document.title = title ? `${title} · ${SITE}` : SITE
  replace(app.main, ...children)
  focusHeading()
}

export function focusHeading(): void {
  if (app.firstRender) { app.firstRender = false; return }
  const heading = app.main.querySelector<HTMLElement>('[data-page-heading]')
  ;(heading ?? app.main).focus({ preventScroll: false })
  window.scrollTo({ top: 0 })
}

/** Reading (library, video, search) may be public by configuration; writing always needs a user. */
export function canRead(): boolean {
  return app.config.publicRead || currentUser() != null
}

export function signedIn(): boolean {
  return currentUser() != null
}

/** Ask the server who the signed-in user is and what they may do (null when signed out or unreachable). */
export async function loadRoles(): Promise<void> {
  const uid = currentUser()?.uid ?? null
  if (uid == null) { app.me = null; return }
  if (app.me?.uid === uid) return
  try {
    const me = await getMe()
    app.me = currentUser()?.uid === me.uid ? me : null
  } catch {
    app.me = null // the pages then offer no actions; the server refuses them anyway
  }
}

/** Upload, index a selection, delete one's own videos. */
export function isMember(): boolean {
  return signedIn() && app.me?.member === true
}

/** Delete any video, delete all, reset, sync, index all and re-index. */
export function isAdmin(): boolean {
  return signedIn() && app.me?.admin === true
}

/** What a signed-in user who is not a member reads where the actions would be. */
export function notMemberMessage(): string {
  if (app.me && !app.me.email_verified) {
    return 'Verify your email address first (follow the link in the email we sent you), then sign in again. ' +
      'If your account is not a member of this library yet, ask an admin for access.'
  }
  return app.me
    ? 'Your account is not a member of this library yet; ask an admin for access.'
    : 'Could not check what your account may do. Reload the page to try again.'
}

/** Where to come back to after signing in. */
export function currentHashPath(): string {
  return location.hash.replace(/^#/, '') || '/'
}

export { SITE }
