/**
 * A browser-like HTTP client for tests: keeps cookies, fetches a CSRF token
 * before state-changing requests (unless told not to), returns status, headers
 * and parsed JSON.
 */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  /** false: send no X-CSRF-Token; a string: send that one. Default: the session's. */
  csrf?: boolean | string;
  headers?: Record<string, string>;
  /** Send this exact text as the body (with content-type application/json). */
  raw?: string;
}

export class Client {
  readonly cookies = new Map<string, string>();
  csrfToken: string | null = null;

  constructor(readonly baseUrl: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** The raw Set-Cookie headers of the last answer. */
  lastSetCookie: string[] = [];

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader;
    if (!['GET', 'HEAD'].includes(method)) {
      let token: string | null = null;
      if (typeof options.csrf === 'string') token = options.csrf;
      else if (options.csrf !== false) token = this.csrfToken ?? (await this.fetchCsrf());
      if (token !== null) headers['x-csrf-token'] = token;
      if (!headers.cookie && this.cookies.size > 0) headers.cookie = this.cookieHeader;
      if (this.cookies.size > 0) headers.cookie = this.cookieHeader;
    }
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(this.baseUrl + path, { method, headers, body: payload, redirect: 'manual' });
    this.lastSetCookie = res.headers.getSetCookie();
    for (const c of this.lastSetCookie) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  async fetchCsrf(): Promise<string> {
    const res = await this.request<{ csrfToken: string }>('GET', '/auth/csrf');
    if (res.status !== 200) throw new Error(`GET /auth/csrf: ${res.status}`);
    this.csrfToken = res.body.csrfToken;
    return this.csrfToken;
  }

  get<T = any>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, undefined, options);
  }
  post<T = any>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>('POST', path, body, options);
  }
  put<T = any>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>('PUT', path, body, options);
  }

  async register(email: string, password = 'password-123', displayName?: string): Promise<Answer> {
    return this.post('/auth/register', { email, password, ...(displayName ? { displayName } : {}) });
  }

  async login(email: string, password = 'password-123'): Promise<Answer> {
    const res = await this.post('/auth/login', { email, password });
    if (res.status === 200) this.csrfToken = res.body.csrfToken;
    return res;
  }

  /** Register (if needed) and sign in; throws unless both work. */
  async signUp(email: string, password = 'password-123'): Promise<{ id: string; email: string }> {
    const reg = await this.register(email, password);
    if (reg.status !== 201) throw new Error(`register ${email}: ${reg.status} ${reg.text}`);
    const res = await this.login(email, password);
    if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${res.text}`);
    return res.body.user;
  }
}
