/** Toasts people see and a polite live region screen readers hear; errors use role=alert. */
import { h, icon, ICONS } from '../dom'

let toastRegion: HTMLElement
let alertRegion: HTMLElement
let liveRegion: HTMLElement

/** Create the regions once at start (they must exist before content changes for screen readers to announce). */
export function mountFeedback(root: HTMLElement): void {
  toastRegion = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', 'data-testid': 'toasts' })
  alertRegion = h('div', { class: 'toasts toasts-alert', role: 'alert', 'aria-live': 'assertive' })
  liveRegion = h('div', { class: 'sr-only', 'aria-live': 'polite', 'data-testid': 'live-region' })
  const stack = h('div', { class: 'toast-stack' }, toastRegion, alertRegion)
  root.append(stack, liveRegion)
}

/** Say something to screen-reader users without showing it (e.g. "Cats.mp4 is now Ready"). */
export function announce(text: string): void {
  // Clearing first makes repeated identical messages announce again.
  liveRegion.textContent = ''
  window.setTimeout(() => { liveRegion.textContent = text }, 50)
}

export type ToastKind = 'info' | 'success' | 'error'

/** Show a short message; errors stay until closed, others fade after a few seconds. */
export function toast(text: string, kind: ToastKind = 'info'): void {
  const region = kind === 'error' ? alertRegion : toastRegion
  const el = h('div', { class: `toast toast-${kind}`, 'data-testid': `toast-${kind}` },
    h('span', { class: 'toast-text' }, text),
    h('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Dismiss message',
      onclick: () => el.remove(),
    }, icon(ICONS.close)),
  )
  region.append(el)
  if (kind !== 'error') window.setTimeout(() => el.remove(), 6000)
  while (region.childElementCount > 3) region.firstElementChild?.remove()
}

export function clearErrors(): void {
  alertRegion?.replaceChildren()
}
