/** Sign-in form (email + password). Used as its own page and inline where a page needs a signed-in user. */
import { showPage } from '../app'
import { authErrorMessage, currentUser, signIn } from '../auth'
import { h } from '../dom'
import type { RouteContext } from '../router'

/** The form; `onDone` runs after a successful sign-in. */
export function signInForm(onDone: () => void): HTMLElement {
  const email = h('input', {
    id: 'signin-email', type: 'email', name: 'email', autocomplete: 'username', required: true,
    inputmode: 'email', 'data-testid': 'signin-email',
  })
  const password = h('input', {
    id: 'signin-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true,
    'data-testid': 'signin-password',
  })
  const error = h('p', { class: 'form-error', id: 'signin-error', 'data-testid': 'signin-error', role: 'alert', hidden: true })
  const submit = h('button', { type: 'submit', class: 'button primary wide', 'data-testid': 'signin-submit' }, 'Sign in')
  const form = h('form', {
    class: 'card signin-card', 'data-testid': 'signin-form', novalidate: true, 'aria-describedby': 'signin-error',
    onsubmit: async (e: Event) => {
      e.preventDefault()
      error.hidden = true
      if (!email.value.trim() || !password.value) {
        error.textContent = 'Enter your email and password.'
        error.hidden = false
        ;(email.value.trim() ? password : email).focus()
        return
      }
      submit.disabled = true
      submit.textContent = 'Signing in…'
      form.setAttribute('aria-busy', 'true')
      try {
        await signIn(email.value.trim(), password.value)
        onDone()
      } catch (err) {
        error.textContent = authErrorMessage(err)
        error.hidden = false
        password.select()
        password.focus()
      } finally {
        submit.disabled = false
        submit.textContent = 'Sign in'
        form.removeAttribute('aria-busy')
      }
    },
  },
    h('label', { class: 'field', for: 'signin-email' }, h('span', { class: 'field-label' }, 'Email')),
    email,
    h('label', { class: 'field', for: 'signin-password' }, h('span', { class: 'field-label' }, 'Password')),
    password,
    error,
    submit,
  )
  return form
}

/** A page section asking to sign in, then re-rendering the page the person was on. */
export function signInPrompt(message: string): HTMLElement {
  return h('section', { class: 'signin-wrap' },
    h('h1', { class: 'page-title', tabindex: '-1', 'data-page-heading': 'true' }, 'Sign in'),
    h('p', { class: 'muted' }, message),
    signInForm(() => { /* onUserChange re-renders the current route */ }),
  )
}

/** Only follow in-app paths, never an absolute URL someone put in the link. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ? next : '/'
}

export function renderSignIn(ctx: RouteContext): void {
  const next = safeNext(ctx.query.get('next'))
  if (currentUser()) { location.replace(`#${next}`); return }
  showPage('Sign in', h('section', { class: 'signin-wrap' },
    h('h1', { class: 'page-title', tabindex: '-1', 'data-page-heading': 'true' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Sign in to upload, index and manage videos.'),
    signInForm(() => { location.hash = next }),
  ))
  // The form is the whole page: put the cursor in the first field.
  document.getElementById('signin-email')?.focus()
}
