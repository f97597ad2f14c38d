/** The endpoint path without a trailing slash (`/cometd/` → `/cometd`, `/` → ``): both transports serve `<base>` and `<base>/...`. */
export function basePath (path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path
}

/** The endpoint's URLs as routes: `<base>` and everything under it (C79). */
export function endpointUrls (path: string): string[] {
  const base = basePath(path)
  return [base || '/', `${base}/*`]
}
