import { Type } from '@sinclair/typebox';

/** `http:` settings of the provisioning service (rac serve), beside `http.listen`. */
export const HttpServiceFields = {
  /** Serve HTTPS: needed for the portal on anything but loopback. */
  tls: Type.Optional(
    Type.Object(
      { cert: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1, description: 'private key file' }) },
      { additionalProperties: false },
    ),
  ),
  /** Largest request body; rosters (POST /v1/plans) have their own limit. */
  body_limit_bytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  roster_limit_bytes: Type.Integer({ minimum: 1024, maximum: 512 * 1024 * 1024, default: 32 * 1024 * 1024 }),
  /** /metrics for anyone who can reach it (`open`) or for viewer tokens (`token`). */
  metrics: Type.Union([Type.Literal('open'), Type.Literal('token')], { default: 'open' }),
  /** The capacity page (GET /): readable from loopback without a token, or only with a viewer token. */
  capacity_page: Type.Union([Type.Literal('loopback'), Type.Literal('token')], { default: 'loopback' }),
  /** The self-service portal (/me). Without tls it listens on loopback only, or rac serve refuses to start. */
  portal: Type.Boolean({ default: true }),
  rate_limit: Type.Object(
    {
      /** Requests per minute per token. */
      per_token: Type.Integer({ minimum: 1, default: 600 }),
      /** Failed authentications per minute per address (bad or missing tokens, wrong passwords). */
      failed_auth: Type.Integer({ minimum: 1, default: 20 }),
      /** Portal login attempts per minute per address. */
      login: Type.Integer({ minimum: 1, default: 10 }),
    },
    { additionalProperties: false, default: {} },
  ),
};
