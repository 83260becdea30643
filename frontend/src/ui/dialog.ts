/** Confirmation dialog on the native <dialog>: modal, focus kept inside, Escape cancels, focus returns. */
import { h } from '../dom'

export interface ConfirmOpts {
  title: string
  body: string
  confirmLabel: string
  danger?: boolean
  /** When set, the person must type this word to enable the confirm button (for irreversible bulk actions). */
  typeToConfirm?: string
}

export function confirmDialog(opts: ConfirmOpts): Promise<boolean> {
  const opener = document.activeElement as HTMLElement | null
  return new Promise((resolve) => {
    const titleId = `dlg-title-${Math.random().toString(36).slice(2)}`
    const bodyId = `${titleId}-body`
    const ok = h('button', {
      type: 'submit', value: 'ok', class: opts.danger ? 'button danger' : 'button primary', 'data-testid': 'confirm-ok',
      disabled: Boolean(opts.typeToConfirm),
    }, opts.confirmLabel)
    const cancel = h('button', { type: 'submit', value: 'cancel', class: 'button', 'data-testid': 'confirm-cancel', formnovalidate: true }, 'Cancel')
    const typed = opts.typeToConfirm
      ? h('label', { class: 'field' },
          h('span', { class: 'field-label' }, `Type ${opts.typeToConfirm} to confirm`),
          h('input', {
            type: 'text', autocomplete: 'off', 'data-testid': 'confirm-input',
            oninput: (e: Event) => { ok.disabled = (e.target as HTMLInputElement).value.trim() !== opts.typeToConfirm },
            // Enter would submit with the first button (Cancel); make it confirm once the word matches.
            onkeydown: (e: KeyboardEvent) => {
              if (e.key !== 'Enter') return
              e.preventDefault()
              if (!ok.disabled) dlg.close('ok')
            },
          }))
      : null
    const form = h('form', { method: 'dialog' },
      h('h2', { id: titleId, class: 'dialog-title' }, opts.title),
      h('p', { id: bodyId }, opts.body),
      typed,
      h('div', { class: 'dialog-actions' }, cancel, ok),
    )
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId, 'data-testid': 'confirm-dialog' }, form)
    dlg.addEventListener('close', () => {
      const yes = dlg.returnValue === 'ok'
      dlg.remove()
      opener?.focus?.()
      resolve(yes)
    })
    document.body.append(dlg)
    dlg.showModal()
    // Safer default focus: Cancel for dangerous actions, unless a word must be typed first.
    ;(typed?.querySelector('input') ?? (opts.danger ? cancel : ok)).focus()
  })
}
