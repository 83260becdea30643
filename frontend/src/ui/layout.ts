/** The shared layout: skip link, header (brand, nav, search, user), main, footer. */
import { app, SITE } from '../app'
import { currentUser, signOut } from '../auth'
import { h, icon, ICONS, replace } from '../dom'
import { searchByImage } from '../image-query'
import { go, href, parseHash } from '../router'
import { announce, toast } from './feedback'

let userBox: HTMLElement
let searchInput: HTMLInputElement
let navLinks: HTMLAnchorElement[] = []
let searchInputCounter: (cut?: boolean) => void = () => {}
/** The longest search the API takes (GET /search `q`). */
export const SEARCH_MAX = 500

export function mountLayout(root: HTMLElement): HTMLElement {
  const main = h('main', { id: 'main', class: 'main', tabindex: '-1' })
  searchInput = h('input', {
    id: 'site-search', type: 'search', name: 'q', placeholder: 'Search, e.g. “cats playing on the floor”',
    autocomplete: 'off', enterkeyhint: 'search', maxlength: SEARCH_MAX, 'data-testid': 'search-input',
  })
  // The 500-character limit is shown as it is approached, and said when a paste was cut to it.
  const counter = h('span', { class: 'search-counter', id: 'search-counter', 'data-testid': 'search-counter', hidden: true })
  searchInput.setAttribute('aria-describedby', 'search-counter')
  const showCount = (cut = false) => {
    const n = searchInput.value.length
    counter.hidden = n < SEARCH_MAX - 100 && !cut
    counter.classList.toggle('at-limit', n >= SEARCH_MAX)
    counter.textContent = cut ? `Cut to ${SEARCH_MAX} characters` : `${n}/${SEARCH_MAX}`
  }
  searchInput.addEventListener('input', () => showCount())
  searchInput.addEventListener('paste', (e: ClipboardEvent) => {
    const pasted = e.clipboardData?.getData('text') ?? ''
    const kept = searchInput.value.length - ((searchInput.selectionEnd ?? 0) - (searchInput.selectionStart ?? 0))
    if (kept + pasted.length > SEARCH_MAX) setTimeout(() => { showCount(true); announce(`Search text cut to ${SEARCH_MAX} characters.`) })
  })
  searchInputCounter = showCount
  // Search by picture (POST /search/image): a file button, a picture dropped on the form or pasted into the box.
  const imageError = h('p', { class: 'form-error image-search-error', role: 'alert', hidden: true, 'data-testid': 'image-search-error' })
  const imageInput = h('input', {
    type: 'file', accept: 'image/jpeg,image/png', class: 'sr-only', id: 'search-image', tabindex: '-1',
    'data-testid': 'search-image-input',
  })
  const useImage = async (file: File | null | undefined) => {
    if (!file) return
    imageError.hidden = true
    const problem = await searchByImage(file, file.name || 'picture', file.name || 'a pasted picture')
    if (problem) {
      imageError.textContent = problem
      imageError.hidden = false
      announce(problem)
    }
  }
  imageInput.addEventListener('change', () => { void useImage(imageInput.files?.[0]); imageInput.value = '' })
  const imageButton = h('button', {
    type: 'button', class: 'button subtle icon-only', 'data-testid': 'search-image-button',
    'aria-label': 'Search by picture (JPEG or PNG)', title: 'Search by picture: choose, drop or paste a JPEG or PNG',
    onclick: () => imageInput.click(),
  }, icon(ICONS.image))
  searchInput.addEventListener('paste', (e: ClipboardEvent) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'))
    if (file) { e.preventDefault(); void useImage(file) }
  })
  const searchForm = h('form', {
    class: 'header-search', role: 'search', 'data-testid': 'search-form',
    onsubmit: (e: Event) => {
      e.preventDefault()
      const q = searchInput.value.trim()
      if (!q) { searchInput.focus(); return }
      go('/search', { q })
    },
  },
    h('label', { for: 'site-search', class: 'sr-only' }, 'Search videos'),
    icon(ICONS.search, 'icon search-icon'),
    searchInput,
    counter,
    imageButton,
    imageInput,
    h('button', { type: 'submit', class: 'button primary', 'data-testid': 'search-submit' }, 'Search'),
  )
  // A file dragged over the form shows where to drop it; dropping searches with it.
  const hasFiles = (e: DragEvent) => [...(e.dataTransfer?.types ?? [])].includes('Files')
  searchForm.addEventListener('dragover', (e: DragEvent) => {
    if (!hasFiles(e)) return
    e.preventDefault()
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'
    searchForm.classList.add('drop-target')
  })
  searchForm.addEventListener('dragleave', () => searchForm.classList.remove('drop-target'))
  searchForm.addEventListener('drop', (e: DragEvent) => {
    if (!hasFiles(e)) return
    e.preventDefault()
    searchForm.classList.remove('drop-target')
    void useImage(e.dataTransfer?.files?.[0])
  })
  window.addEventListener('hashchange', () => { imageError.hidden = true })
  navLinks = [
    h('a', { href: href('/'), 'data-testid': 'nav-library', 'data-path': '/' }, icon(ICONS.library), h('span', null, 'Library')),
    h('a', { href: href('/upload'), 'data-testid': 'nav-upload', 'data-path': '/upload' }, icon(ICONS.upload), h('span', null, 'Upload')),
  ]
  userBox = h('div', { class: 'user-box', 'data-testid': 'user-box' })
  const header = h('header', { class: 'site-header' },
    h('div', { class: 'header-inner' },
      h('a', { class: 'brand', href: href('/'), 'aria-label': `${SITE} home` },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, icon(ICONS.play)),
        h('span', { class: 'brand-name' }, SITE)),
      h('nav', { class: 'main-nav', 'aria-label': 'Main' }, ...navLinks),
      searchForm,
      userBox,
      imageError,
    ),
  )
  const skip = h('a', {
    class: 'skip-link', href: '#main',
    // Following #main would change the route in a hash router, so cancel it and move focus by hand.
    onclick: (e: Event) => { e.preventDefault(); main.focus() },
  }, 'Skip to content')
  const footer = h('footer', { class: 'site-footer' },
    h('p', null, 'Videos are stored in Backblaze B2 and indexed by Twelve Labs.'))
  root.append(skip, header, main, footer)
  window.addEventListener('hashchange', syncHeader)
  renderUser()
  syncHeader()
  return main
}

/** Mark the current nav link and keep the search box showing the current query. */
function syncHeader(): void {
  const { path, query } = parseHash(location.hash)
  for (const a of navLinks) {
    const p = a.dataset.path!
    const active = p === '/' ? path === '/' : path.startsWith(p)
    if (active) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  if (path.startsWith('/search')) {
    const q = query.get('q') ?? (query.get('image') ? '' : searchInput.value) // a picture search has no words
    searchInput.value = q.slice(0, SEARCH_MAX)  // a longer ?q= in the address is cut like a paste
    searchInputCounter(q.length > SEARCH_MAX)
  }
  if (!currentUser()) renderUser() // keeps the sign-in link's "come back here" target current
}

/** "Admin" / "Member" / "Not a member" next to the signed-in email (GET /me), nothing while unknown. */
function roleBadge(): HTMLElement | null {
  const me = app.me
  if (!me) return null
  const [label, kind] = me.admin ? ['Admin', 'admin'] : me.member ? ['Member', 'member'] : ['Not a member', 'none']
  return h('span', { class: `role-badge role-${kind}`, 'data-testid': 'user-role', 'data-role': kind }, label)
}

export function renderUser(): void {
  const user = currentUser()
  if (user) {
    replace(userBox,
      h('span', { class: 'user-email', 'data-testid': 'user-email', title: user.email ?? '' }, user.email ?? 'Signed in'),
      roleBadge(),
      h('button', {
        type: 'button', class: 'button subtle', 'data-testid': 'signout-button',
        onclick: async () => {
          try {
            await signOut()
            toast('You are signed out.', 'info')
          } catch {
            toast('Sign-out failed. Try again.', 'error')
          }
        },
      }, 'Sign out'),
    )
  } else {
    const next = location.hash.replace(/^#/, '')
    replace(userBox, h('a', {
      class: 'button', 'data-testid': 'signin-link',
      href: href('/signin', { next: next.startsWith('/signin') ? null : next || null }),
    }, 'Sign in'))
  }
}
