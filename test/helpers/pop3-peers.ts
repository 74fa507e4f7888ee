/**
 * Scripted POP3 peers for replies no local server produces: Exchange's
 * logon failure, Gmail's web-login and application-specific password
 * refusals, a server without UIDL, a maildrop locked by another client, a
 * server that refuses a plaintext sign-in before STLS. Each is an in-process
 * TCP (or implicit-TLS) server on a free port of 127.0.0.1 that plays the
 * same exchange to every connection, with the server's own texts (each
 * cites where it was seen). `received` holds what the client sent, so a
 * test can check that no secret crossed a line it should not have.
 */
import type { CertPair } from './certs';
import { startScriptedServer, type ScriptStep, type ScriptedServer } from './scripted-server';

/** The end of a POP3 session: the probe's QUIT. */
const QUIT: ScriptStep[] = [{ expect: /^QUIT/ }, { send: '+OK Bye' }, { close: true }];

/**
 * Microsoft Exchange Server 2003 POP3, whose CAPA offers USER and SASL NTLM
 * only (so a password goes by USER/PASS), refusing the password with its
 * real text (jstedfast/MailKit#391; mattnenterprise/rust-pop3#17 for the
 * same -ERR line from a later Exchange).
 */
export function startExchangePop3(): Promise<ScriptedServer> {
  return startScriptedServer({
    script: [
      { send: '+OK Microsoft Exchange Server 2003 POP3 server version 6.5.7638.1 (exchange.example.test) ready.' },
      { expect: /^CAPA$/ },
      { send: ['+OK Capability list follows', 'TOP', 'USER', 'PIPELINING', 'EXPIRE NEVER', 'UIDL', 'SASL NTLM', '.'] },
      { expect: /^USER / },
      { send: '+OK' },
      { expect: /^PASS / },
      { send: '-ERR Logon failure: unknown user name or bad password.' },
      { expect: /^QUIT/ },
      { send: '+OK Microsoft Exchange Server 2003 POP3 server version 6.5.7638.1 signing off.' },
      { close: true },
    ],
  });
}

/** Gmail's CAPA list (pop.gmail.com, implicit TLS on 995). */
const GMAIL_CAPA = ['+OK Capability list follows', 'USER', 'RESP-CODES', 'EXPIRE 0', 'LOGIN-DELAY 300', 'TOP', 'UIDL', 'X-GOOGLE-RICO', 'SASL PLAIN XOAUTH2 OAUTHBEARER', '.'];

/**
 * pop.gmail.com refusing a sign-in by SASL PLAIN with one of its real
 * replies: `web-login` "-ERR [AUTH] Web login required: ..." (the account's
 * own password from a program Google does not trust), `app-password`
 * "-ERR [AUTH] Application-specific password required: ..." (2-Step
 * Verification on; mailman/mailman#50), `bad-credentials`
 * "-ERR [AUTH] Username and password not accepted.".
 */
export function startGmailPop3(refusal: 'web-login' | 'app-password' | 'bad-credentials', cert: CertPair): Promise<ScriptedServer> {
  const reply = {
    'web-login': '-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754',
    'app-password': '-ERR [AUTH] Application-specific password required: http://support.google.com/accounts/bin/answer.py?answer=185833',
    'bad-credentials': '-ERR [AUTH] Username and password not accepted.',
  }[refusal];
  return startScriptedServer({
    implicitTls: cert,
    script: [
      { send: '+OK Gpop ready for requests from 127.0.0.1 q12mb1234567pfb' },
      { expect: /^CAPA$/ },
      { send: GMAIL_CAPA },
      { expect: /^AUTH PLAIN$/ },
      { send: '+ ' },
      { expect: true },
      { send: reply },
      { close: true },
    ],
  });
}

/** A Gmail session that signs in and counts the messages (for the happy path over implicit TLS with XOAUTH2). */
export function startGmailPop3Accepting(cert: CertPair): Promise<ScriptedServer> {
  return startScriptedServer({
    implicitTls: cert,
    script: [
      { send: '+OK Gpop ready for requests from 127.0.0.1 q12mb1234567pfb' },
      { expect: /^CAPA$/ },
      { send: GMAIL_CAPA },
      { expect: /^AUTH XOAUTH2$/ },
      { send: '+ ' },
      { expect: true },
      { send: '+OK Welcome.' },
      { expect: /^STAT$/ },
      { send: '+OK 3 15360' },
      ...QUIT,
    ],
  });
}

/**
 * An RFC 1939 server: no CAPA, no UIDL ("-ERR" to both), signing in by
 * USER/PASS. The import could not tell its messages apart.
 */
export function startPop3WithoutUidl(): Promise<ScriptedServer> {
  return startScriptedServer({
    script: [
      { send: '+OK POP3 server ready' },
      { expect: /^CAPA$/ },
      { send: '-ERR Unknown command: CAPA' },
      { expect: /^USER / },
      { send: '+OK' },
      { expect: /^PASS / },
      { send: '+OK Mailbox open, 2 messages' },
      { expect: /^STAT$/ },
      { send: '+OK 2 2048' },
      { expect: /^UIDL 1$/ },
      { send: '-ERR Unknown command: UIDL' },
      ...QUIT,
    ],
  });
}

/**
 * Dovecot with pop3_lock_session = yes while another POP3 client holds the
 * maildrop: the sign-in is accepted by the login process, then the mail
 * process cannot lock the INBOX: Dovecot 2.3's text, as this project's Dovecot POP3
 * tests measure it (connection-test-pop3.test.ts), without the 10 s wait.
 */
export function startLockedPop3(): Promise<ScriptedServer> {
  return startScriptedServer({
    script: [
      { send: '+OK Dovecot ready.' },
      { expect: /^CAPA$/ },
      { send: ['+OK', 'CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'USER', 'SASL PLAIN LOGIN', '.'] },
      { expect: /^AUTH PLAIN$/ },
      { send: '+ ' },
      { expect: true },
      { send: '-ERR [IN-USE] Mailbox is locked by another POP3 session.' },
      { close: true },
    ],
  });
}

/**
 * Dovecot with disable_plaintext_auth = yes, as a client from another
 * address sees it on port 110: CAPA offers STLS but neither USER nor a SASL
 * mechanism, and USER is refused with Dovecot's text. (A private Dovecot
 * treats 127.0.0.1 -> 127.0.0.1 as secured and never refuses.)
 */
export function startPlaintextRefusingPop3(): Promise<ScriptedServer> {
  return startScriptedServer({
    script: [
      { send: '+OK Dovecot ready.' },
      { expect: /^CAPA$/ },
      { send: ['+OK', 'CAPA', 'TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS', 'SASL', '.'] },
      { expect: /^USER / },
      { send: '-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.' },
      ...QUIT,
    ],
  });
}
