/** Start-up: load config.json, start Auth, draw the layout, route. A broken config shows one clear message. */
import './styles.css'
import { app, loadRoles, showPage } from './app'
import { configureApi } from './api'
import { initAuth, onUserChange } from './auth'
import { ConfigError, loadConfig } from './config'
import { h } from './dom'
import { renderLibrary } from './pages/library'
import { renderResult, renderSearch } from './pages/search'
import { renderSignIn } from './pages/signin'
import { renderUpload } from './pages/upload'
import { renderVideo } from './pages/video'
import { Router, href } from './router'
import { emptyState } from './ui/components'
import { mountFeedback, toast } from './ui/feedback'
import { mountLayout, renderUser } from './ui/layout'

async function start(): Promise<void> {
  const root = document.getElementById('app')!
  try {
    app.config = await loadConfig()
    await initAuth(app.config)
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : 'The app could not start: the sign-in service is unavailable.'
    root.replaceChildren(h('div', { class: 'fatal', role: 'alert', 'data-testid': 'app-error' },
      h('h1', null, 'Media Library is not available'),
      h('p', null, message),
      h('p', { class: 'muted' }, 'If you run this site, see frontend/README.md for the config.json format.')))
    return
  }
  root.replaceChildren()
  app.main = mountLayout(root)
  mountFeedback(document.body)

  let lastUnauthorizedToast = 0
  configureApi(app.config, () => {
    // Many calls may fail at once after a session ends; say it once.
    if (Date.now() - lastUnauthorizedToast < 10_000) return
    lastUnauthorizedToast = Date.now()
    toast('Your session has expired. Please sign in again.', 'error')
  })

  app.router = new Router([
    { path: '/', render: renderLibrary },
    { path: '/upload', render: renderUpload },
    { path: '/videos/:id', render: renderVideo },
    { path: '/search', render: renderSearch },
    { path: '/search/:id', render: renderResult },
    { path: '/signin', render: renderSignIn },
  ], () => {
    showPage('Not found', emptyState('Page not found', 'That address does not match any page.',
      h('a', { class: 'button', href: href('/') }, 'Go to the library'), 'not-found'))
  })

  onUserChange(async () => {
    await loadRoles()
    renderUser()
    app.router.refresh()
  })
  await loadRoles()
  renderUser()
  document.documentElement.dataset.ready = 'true' // e2e tests wait for this before interacting
  app.router.start()
}

void start()
