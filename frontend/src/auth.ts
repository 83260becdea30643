/** Firebase Authentication (email + password) and nothing else from Firebase; emulator when configured. */
import { initializeApp } from 'firebase/app'
import {
  browserLocalPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  onIdTokenChanged,
  signInWithEmailAndPassword,
  signOut as fbSignOut,
  type Auth,
  type User,
} from 'firebase/auth'
import type { AppConfig } from './config'

let auth: Auth | null = null
const listeners = new Set<(user: User | null) => void>()

/** Initialise Auth and resolve once the persisted session (if any) is known, so the first render is right. */
export async function initAuth(config: AppConfig): Promise<void> {
  const app = initializeApp({
    apiKey: config.firebase.apiKey,
    authDomain: config.firebase.authDomain,
    projectId: config.firebase.projectId,
  })
  // initializeAuth without the popup/redirect resolver keeps the bundle small: we only use email + password.
  auth = initializeAuth(app, { persistence: [indexedDBLocalPersistence, browserLocalPersistence] })
  if (config.firebase.authEmulatorUrl) {
    connectAuthEmulator(auth, config.firebase.authEmulatorUrl, { disableWarnings: true })
  }
  await auth.authStateReady()
  let last: string | null | undefined = auth.currentUser?.uid ?? null
  onIdTokenChanged(auth, (user) => {
    // Token refreshes fire this too; only tell the app about sign-in / sign-out.
    const uid = user?.uid ?? null
    if (uid === last) return
    last = uid
    listeners.forEach((fn) => fn(user))
  })
}

function requireAuth(): Auth {
  if (!auth) throw new Error('auth not initialised')
  return auth
}

export function currentUser(): User | null {
  return auth?.currentUser ?? null
}

/** Subscribe to sign-in / sign-out; returns an unsubscribe function. */
export function onUserChange(fn: (user: User | null) => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/** The ID token for `Authorization: Bearer`, or null when signed out. `force` refreshes it (after a 401). */
export async function idToken(force = false): Promise<string | null> {
  const user = currentUser()
  return user ? user.getIdToken(force) : null
}

export async function signIn(email: string, password: string): Promise<User> {
  const cred = await signInWithEmailAndPassword(requireAuth(), email, password)
  return cred.user
}

export async function signOut(): Promise<void> {
  await fbSignOut(requireAuth())
}

/** A sentence a person can act on for a Firebase Auth error code. */
export function authErrorMessage(err: unknown): string {
  const code = (err as { code?: string })?.code ?? ''
  switch (code) {
    case 'auth/invalid-credential':
    case 'auth/invalid-login-credentials':
    case 'auth/wrong-password':
    case 'auth/user-not-found':
      return 'That email and password do not match an account.'
    case 'auth/invalid-email':
      return 'Enter a valid email address.'
    case 'auth/missing-password':
      return 'Enter your password.'
    case 'auth/user-disabled':
      return 'This account has been disabled.'
    case 'auth/too-many-requests':
      return 'Too many attempts. Wait a moment and try again.'
    case 'auth/network-request-failed':
      return 'Could not reach the sign-in service. Check your connection and try again.'
    default:
      return 'Sign-in failed. Please try again.'
  }
}
