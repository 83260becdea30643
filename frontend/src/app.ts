/** Shared app state and page plumbing: config, router, the <main> element, titles, focus, sign-in gating. */
import type { AppConfig } from './config'
import { currentUser } from './auth'
import { replace, type Child } from './dom'
import type { Router } from './router'

export const app = {
  config: null as unknown as AppConfig,
  router: null as unknown as Router,
  main: null as unknown as HTMLElement,
  firstRender: true,
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

/** Where to come back to after signing in. */
export function currentHashPath(): string {
  return location.hash.replace(/^#/, '') || '/'
}

export { SITE }
