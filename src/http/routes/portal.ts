import formbody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import { downloadOwnProfile, selfView } from '../../services/client-profiles.ts';
import type { AppOptions } from '../app.ts';
import { escapeHtml, sendPage } from '../html.ts';
import { createPortalSessions, newCsrfToken, sameToken } from '../portal-sessions.ts';

const SESSION_COOKIE = 'rac_session';
const LOGIN_CSRF_COOKIE = 'rac_login_csrf';
const SESSION_TTL_MS = 30 * 60_000;

const LoginForm = Type.Object(
  {
    uid: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 512 }),
    csrf: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);

/**
 * The self-service portal: people sign in with their directory password (an LDAP bind as them;
 * the password is never stored), see their tier and expiry, and download their VPN profile.
 * HttpOnly SameSite=Strict cookies (Secure over TLS), a CSRF token on every form, logins
 * rate-limited per address, every login and download audited.
 */
export const portalRoutes: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { deps, tls, caPem, limits } = options;
  const sessions = createPortalSessions({ ttlMs: SESSION_TTL_MS });
  const cookie = { httpOnly: true, sameSite: 'strict' as const, secure: tls, path: '/me' };
  await app.register(formbody, { bodyLimit: 4096 });

  const loginPage = (reply: FastifyReply, status: number, message: string | null) => {
    const csrf = newCsrfToken();
    void reply.setCookie(LOGIN_CSRF_COOKIE, csrf, { ...cookie, maxAge: 900 });
    return sendPage(
      reply,
      status,
      'Sign in — remote access',
      `<h1>Remote access</h1><div class="card"><p>Sign in with your company username and password to get your VPN profile.</p>
${message === null ? '' : `<p class="bad" role="alert">${escapeHtml(message)}</p>`}
<form class="login" method="post" action="/me/login"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label>Username <input name="uid" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></div>`,
    );
  };

  const sessionOf = (request: FastifyRequest) => sessions.get(request.cookies[SESSION_COOKIE]);

  app.get('/me', { schema: { tags: ['portal'], hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    if (session === null) return loginPage(reply, 200, null);
    const view = await selfView(deps, session.uid);
    const downloads =
      view.gateways.length === 0
        ? `<p>Your access tier is <b>${escapeHtml(view.tier ?? 'none')}</b>: you use the company web apps through the access proxy, no VPN profile is needed.</p>`
        : `<h2>Your VPN profile</h2><p>${view.gateways
            .map(
              (g) =>
                `<a class="button" href="/me/profile/${encodeURIComponent(g)}" download="${escapeHtml(`${view.uid}-${g}.ovpn`)}">Download for ${escapeHtml(g)}</a>`,
            )
            .join('')}</p>
<h2>How to connect</h2><ol><li>Install OpenVPN Connect (Windows, macOS, phones) or the <code>openvpn</code> package (Linux).</li>
<li>Import the downloaded <code>.ovpn</code> file.</li><li>Connect and sign in with the same username and password as here.</li>
<li>Trouble? Tell the IT service desk your username and the gateway name.</li></ol>`;
    return sendPage(
      reply,
      200,
      'Your remote access',
      `<h1>Hello, ${escapeHtml(view.name ?? view.uid)}</h1><div class="card"><table>
<tr><th>Username</th><td id="uid">${escapeHtml(view.uid)}</td></tr>
<tr><th>Access tier</th><td id="tier">${escapeHtml(view.tier ?? 'none')}</td></tr>
<tr><th>Access ends</th><td id="expires">${escapeHtml(view.expires ?? 'no end date')}</td></tr></table>
${downloads}
<form method="post" action="/me/logout"><input type="hidden" name="csrf" value="${escapeHtml(session.csrf)}"><button type="submit">Sign out</button></form></div>`,
    );
  });

  app.post('/me/login', { schema: { tags: ['portal'], hide: true, body: LoginForm } }, async (request, reply) => {
    const attempt = await limits.login(request);
    if (!attempt.isAllowed && attempt.isExceeded === true) {
      void reply.header('retry-after', String(attempt.ttlInSeconds ?? 60));
      return loginPage(reply, 429, 'Too many sign-in attempts from here; wait a minute and try again.');
    }
    const form = request.body as { uid: string; password: string; csrf: string };
    if (!sameToken(form.csrf, request.cookies[LOGIN_CSRF_COOKIE]))
      throw new AppError('RAC_AUTH_CSRF', 'the form has expired or did not come from this site; reload the page');
    const uid = form.uid.trim().toLowerCase();
    const found = await deps.directory.verifyPassword(uid, form.password);
    if (found === null) {
      deps.store.audit({
        action: 'portal.login.failed',
        actor: 'portal',
        detail: { uid: uid.slice(0, 64), address: request.ip },
      });
      return loginPage(reply, 401, 'Wrong username or password.');
    }
    // A sign-in changes nothing, and a durable write per sign-in would be most of its cost: what
    // it leads to (a download) is audited, and so is every refused attempt.
    const { id } = sessions.create(uid);
    void reply.clearCookie(LOGIN_CSRF_COOKIE, cookie);
    void reply.setCookie(SESSION_COOKIE, id, { ...cookie, maxAge: SESSION_TTL_MS / 1000 });
    return reply.code(303).header('location', '/me').send();
  });

  app.post(
    '/me/logout',
    {
      schema: {
        tags: ['portal'],
        hide: true,
        body: Type.Object({ csrf: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      if (session === null) return reply.code(303).header('location', '/me').send();
      if (!sameToken((request.body as { csrf: string }).csrf, session.csrf))
        throw new AppError('RAC_AUTH_CSRF', 'the form has expired or did not come from this site; reload the page');
      sessions.delete(request.cookies[SESSION_COOKIE]);
      void reply.clearCookie(SESSION_COOKIE, cookie);
      return reply.code(303).header('location', '/me').send();
    },
  );

  app.get(
    '/me/profile/:gateway',
    {
      schema: {
        tags: ['portal'],
        hide: true,
        params: Type.Object({ gateway: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) }),
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      if (session === null) return reply.code(303).header('location', '/me').send();
      if (caPem === null)
        throw new AppError('RAC_CONFIG_INVALID', 'profiles.ca_file is not configured: profiles cannot be made');
      const { gateway } = request.params as { gateway: string };
      const profile = await downloadOwnProfile(deps, session.uid, gateway, caPem);
      return reply
        .header('content-type', 'application/x-openvpn-profile')
        .header('content-disposition', `attachment; filename="${session.uid}-${gateway}.ovpn"`)
        .header('cache-control', 'no-store')
        .send(profile);
    },
  );
};
