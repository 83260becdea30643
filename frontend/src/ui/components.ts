/** Small building blocks shared by the pages: status badge, thumbnail, loading and error states, pager. */
import { canRetry } from '../api'
import { h, icon, ICONS, type Child } from '../dom'
import { statusLabel, isInFlight } from '../format'

/** Status pill; `data-status` holds the raw API value for tests and styling. */
export function statusBadge(status: string, reason?: string | null, testid = 'status-badge'): HTMLElement {
  const badge = h('span', { class: `badge badge-${status}`, 'data-testid': testid, 'data-status': status },
    isInFlight(status) ? h('span', { class: 'badge-dot', 'aria-hidden': 'true' }) : null,
    statusLabel(status),
  )
  if (reason) badge.title = reason
  return badge
}

/** Update a badge in place (keeps focus/selection elsewhere on the page undisturbed). */
export function updateBadge(badge: HTMLElement, status: string, reason?: string | null): void {
  const next = statusBadge(status, reason, badge.dataset.testid)
  badge.replaceWith(next)
}

/** Thumbnail image, or a film placeholder when there is none or it fails to load. */
export function thumbnail(url: string | null | undefined, cls = 'thumb'): HTMLElement {
  const frame = h('div', { class: cls, 'data-testid': 'thumbnail' })
  setThumbnail(frame, url)
  return frame
}

export function setThumbnail(frame: HTMLElement, url: string | null | undefined): void {
  const placeholder = () => {
    frame.replaceChildren(h('div', { class: 'thumb-placeholder' }, icon(ICONS.film, 'icon icon-xl')))
    frame.dataset.placeholder = 'true'
  }
  if (!url) { placeholder(); return }
  const img = h('img', { src: url, alt: '', loading: 'lazy', decoding: 'async' })
  img.addEventListener('error', placeholder, { once: true })
  frame.replaceChildren(img)
  delete frame.dataset.placeholder
}

export function loading(text = 'Loading…'): HTMLElement {
  return h('div', { class: 'loading', role: 'status', 'data-testid': 'loading' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, text))
}

/** A block explaining what went wrong, with an optional retry. */
export function errorBox(message: string, retry?: () => void, testid = 'page-error'): HTMLElement {
  return h('div', { class: 'error-box', role: 'alert', 'data-testid': testid },
    h('p', null, message),
    retry ? h('button', { type: 'button', class: 'button', onclick: retry }, 'Try again') : null,
  )
}

/** The error block for a failed call: "Try again" only when trying again can help (network, busy, server error). */
export function errorBoxFor(err: unknown, retry: () => void, testid = 'page-error'): HTMLElement {
  const message = err instanceof Error && err.message ? err.message : 'Something went wrong. Reload the page to try again.'
  return errorBox(message, canRetry(err) ? retry : undefined, testid)
}

export function emptyState(title: string, text: Child, action?: Child, testid = 'empty-state'): HTMLElement {
  return h('div', { class: 'empty', 'data-testid': testid },
    icon(ICONS.film, 'icon icon-xl'),
    h('h2', null, title),
    h('p', null, text),
    action ?? null,
  )
}

export interface PagerOpts {
  label: string
  info: string
  prev: { href?: string; onClick?: () => void; disabled: boolean }
  next: { href?: string; onClick?: () => void; disabled: boolean }
}

/** Previous / next navigation with a readable position ("Page 2 of 6"). */
export function pager(opts: PagerOpts): HTMLElement {
  const link = (label: string, cfg: PagerOpts['prev'], testid: string, rel: string) =>
    cfg.disabled
      ? h('span', { class: 'button disabled', 'aria-disabled': 'true', 'data-testid': testid }, label)
      : cfg.href
        ? h('a', { class: 'button', href: cfg.href, rel, 'data-testid': testid }, label)
        : h('button', { type: 'button', class: 'button', onclick: cfg.onClick, 'data-testid': testid }, label)
  return h('nav', { class: 'pager', 'aria-label': opts.label, 'data-testid': 'pagination' },
    link('← Previous', opts.prev, 'page-prev', 'prev'),
    h('span', { class: 'pager-info', 'data-testid': 'page-info' }, opts.info),
    link('Next →', opts.next, 'page-next', 'next'),
  )
}

export function pageHeader(title: string, ...actions: Child[]): HTMLElement {
  return h('div', { class: 'page-header' },
    h('h1', { class: 'page-title', tabindex: '-1', 'data-page-heading': 'true' }, title),
    actions.length ? h('div', { class: 'page-actions' }, ...actions) : null,
  )
}
