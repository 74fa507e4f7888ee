/**
 * Warnings of a connection test that passed (or failed later) after the
 * credential crossed the network unencrypted. The transcript said so before;
 * a result that is green with the warning only in the transcript let a
 * password travel in the clear unnoticed (issue 13, item 8).
 */
import { PLAINTEXT_SIGN_IN, type TestStep, type TestWarning } from '../../shared/diagnosis.js';
import type { TestAuthMethod, TestProtocol } from '../../shared/diagnosis-vocabulary.js';
import { renderWords } from '../../shared/setting-words.js';

/** What the runner knows once a test has ended. */
export interface SignInFacts {
  protocol: TestProtocol;
  auth: TestAuthMethod;
  /** Whether the connection was encrypted when the auth step ran (implicit TLS or after STARTTLS). */
  encryptedAtSignIn: boolean;
  /** The auth step as recorded. */
  authStep: Pick<TestStep, 'status'> | undefined;
  /** True when the auth step failed on the server's answer to the credential (so the credential was sent). */
  authRefusedByServer: boolean;
}

/**
 * The warning for a sign-in over an unencrypted connection, or none. Only when
 * a credential was actually sent: a server that offers no sign-in on a plain
 * connection never got one.
 */
export function plaintextSignInWarnings(facts: SignInFacts): TestWarning[] {
  if (facts.auth === 'none' || facts.encryptedAtSignIn || !facts.authStep) return [];
  const sent = facts.authStep.status === 'ok' || (facts.authStep.status === 'failed' && facts.authRefusedByServer);
  if (!sent) return [];
  const what = facts.auth === 'xoauth2' ? 'access token' : 'password';
  const ports =
    facts.protocol === 'smtp' ? 'port 587 for {sec:starttls} or 465 for {sec:tls}' : facts.protocol === 'pop3' ? 'port 110 for {sec:starttls} or 995 for {sec:tls}' : 'port 143 for {sec:starttls} or 993 for {sec:tls}';
  return [
    {
      code: PLAINTEXT_SIGN_IN,
      step: 'auth',
      message: `The ${what} crossed the network unencrypted: anyone on the network path could read it.`,
      hint: renderWords(
        `Set security to {sec:starttls} or {sec:tls} (usually ${ports}) and test again` +
          (facts.auth === 'xoauth2' ? '.' : '; if the network between here and the server is not your own, change the password.'),
      ),
    },
  ];
}
