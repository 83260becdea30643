/** Runtime configuration: `config.json` next to index.html, fetched once at start so one build runs anywhere. */

export interface AppConfig {
  functions: { upload_status: string; index_videos: string; library: string }
  firebase: { apiKey: string; authDomain: string; projectId: string; authEmulatorUrl?: string }
  transloadit: { serviceUrl: string }
  publicRead: boolean
  uploadMaxBytes: number
}

export class ConfigError extends Error {}

/** Fetch and validate config.json; throws ConfigError naming every problem found. */
export async function loadConfig(url = new URL('config.json', document.baseURI).href): Promise<AppConfig> {
  let raw: unknown
  try {
    const resp = await fetch(url, { cache: 'no-store' })
    if (!resp.ok) throw new ConfigError(`config.json could not be loaded (HTTP ${resp.status}).`)
    raw = await resp.json()
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError('config.json could not be loaded or is not valid JSON.')
  }
  return validateConfig(raw)
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Check the shape; collect all problems so an operator fixes them in one go. */
export function validateConfig(raw: unknown): AppConfig {
  const problems: string[] = []
  const c = isObj(raw) ? raw : {}
  const fns = isObj(c.functions) ? c.functions : {}
  const fb = isObj(c.firebase) ? c.firebase : {}
  const tl = isObj(c.transloadit) ? c.transloadit : {}
  const needUrl = (obj: Record<string, unknown>, key: string, where: string) => {
    const v = obj[key]
    if (typeof v !== 'string' || !/^https?:\/\//.test(v)) problems.push(`${where}.${key} must be an http(s) URL`)
  }
  const needStr = (obj: Record<string, unknown>, key: string, where: string) => {
    if (typeof obj[key] !== 'string' || !obj[key]) problems.push(`${where}.${key} must be a non-empty string`)
  }
  for (const name of ['upload_status', 'index_videos', 'library']) needUrl(fns, name, 'functions')
  for (const key of ['apiKey', 'authDomain', 'projectId']) needStr(fb, key, 'firebase')
  if (fb.authEmulatorUrl != null && fb.authEmulatorUrl !== '') needUrl(fb, 'authEmulatorUrl', 'firebase')
  needUrl(tl, 'serviceUrl', 'transloadit')
  if (typeof c.publicRead !== 'boolean') problems.push('publicRead must be true or false')
  if (typeof c.uploadMaxBytes !== 'number' || !(c.uploadMaxBytes > 0)) problems.push('uploadMaxBytes must be a positive number')
  if (problems.length) throw new ConfigError(`config.json is incomplete: ${problems.join('; ')}.`)
  return c as unknown as AppConfig
}
