import { z } from 'zod';
import { hostOfListen, isLoopbackHost } from '../health/listen-address.js';
import { secret } from './secret-fields.js';

/** A token shorter than this is refused: it must not be guessable by a LAN peer trying a word list. */
export const MIN_WEB_TOKEN_LENGTH = 16;

const webToken = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only')
      .describe('Who holds this token; logged on login (never the token).'),
    token: secret(z.string().min(MIN_WEB_TOKEN_LENGTH))
      .optional()
      .describe('Use `!secret name`, `${ENV}` or `tokenFile`; never write it inline.'),
    tokenFile: z
      .string()
      .optional()
      .describe('File whose trimmed contents become `token` (a systemd credential, say).'),
    actions: z
      .boolean()
      .default(false)
      .describe(
        'Allow actions (commands, pairing, replay, rename, remove); otherwise the page is read-only.',
      ),
  })
  .refine((t) => t.token !== undefined, {
    message: 'set token (or tokenFile)',
    path: ['token'],
  });

/** `web:` — the local status page (docs/status-page.md). */
export const webSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Serve the status page.'),
    listen: z
      .string()
      .regex(/^[^\s]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9465')
      .refine(
        (listen) => Number(listen.slice(listen.lastIndexOf(':') + 1)) <= 65535,
        'the port is out of range (0–65535)',
      )
      .default('127.0.0.1:9465')
      .describe('host:port of the page; anything but loopback needs `tokens`.'),
    tokens: z
      .array(webToken)
      .default([])
      .describe(
        'Who may open the page. Empty: anyone on this machine may look (read-only); needed for a LAN bind.',
      ),
    maxClients: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(16)
      .describe('Live-update streams at once (open browser tabs); more are refused.'),
  })
  .refine((web) => !web.enabled || web.tokens.length > 0 || isLoopbackHost(hostOfListen(web.listen)), {
    message:
      'web.listen is reachable from the network: add web.tokens (a token from the credential store), or listen on 127.0.0.1',
    path: ['tokens'],
  })
  .prefault({});

export type WebConfig = z.output<typeof webSchema>;
