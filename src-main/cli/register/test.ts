/** Registers `mailroom test smtp|imap|pop3|graph|mailbox`. Actions import their code only when run. */
import { Option, type Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

const PORT_HELP = {
  smtp: 'port (default by security: 465 tls, 587 starttls, 25 none)',
  imap: 'port (default by security: 993 tls, 143 starttls/none)',
  pop3: 'port (default by security: 995 tls, 110 starttls/none)',
} as const;

function targetFlags(cmd: Command, protocol: 'smtp' | 'imap' | 'pop3'): Command {
  fieldFlags(cmd, { password: '--password-env / --password-stdin', token: '--token-env' });
  return cmd
    .requiredOption('--host <host>', `${protocol.toUpperCase()} server host name or IP address`)
    .option('--port <port>', PORT_HELP[protocol])
    .addOption(new Option('--security <mode>', 'transport security (default tls)').choices(['tls', 'starttls', 'none']))
    .addOption(new Option('--auth <method>', 'how to sign in (default: password with a password, xoauth2 with a token, else none)').choices(['password', 'xoauth2', 'none']))
    .option('--user <user>', 'user name to sign in with, usually the full email address')
    .option('--password-env <NAME>', 'read the password from this environment variable')
    .option('--password-stdin', 'read the password from standard input')
    .option('--token-env <NAME>', 'read an OAuth 2.0 access token (xoauth2) from this environment variable')
    .option('--timeout-ms <n>', 'timeout of each step in milliseconds (default 15000)')
    .option('--keep', 'keep the result in the history and the activity log of the data folder');
}

export function registerTestCommands(program: Command): void {
  const test = program
    .command('test')
    .description('test a connection step by step and say what to change when it fails')
    .addHelpText(
      'after',
      '\nExit codes: 0 the test passed, 1 it ran and failed (the diagnosis says why), 2 usage error.\nDNS: the system resolver, or the servers in MAILROOM_DNS_SERVERS (e.g. 127.0.0.1:5353).\nExtra CA certificates: NODE_EXTRA_CA_CERTS=<file.pem>.',
    );

  common(targetFlags(test.command('smtp').description('test sending: dns, tcp, tls, greeting, ehlo, starttls, auth, and with --to a test message'), 'smtp'))
    .option('--from <address>', 'envelope sender of the test message (default: the user name)')
    .option('--to <address>', 'send a small test message to this address')
    .action(async (opts) => {
      const { testProtocol } = await import('../commands/test.js');
      await testProtocol('smtp', opts);
    });

  common(targetFlags(test.command('imap').description('test receiving: dns, tcp, tls, greeting, capability, starttls, auth, select'), 'imap'))
    .option('--folder <name>', 'folder to open read-only (default INBOX)')
    .action(async (opts) => {
      const { testProtocol } = await import('../commands/test.js');
      await testProtocol('imap', opts);
    });

  common(targetFlags(test.command('pop3').description('test receiving over POP3: dns, tcp, tls, greeting, capability (CAPA), starttls (STLS), auth, stat (messages and size, and UIDL for the import)'), 'pop3')).action(async (opts) => {
    const { testProtocol } = await import('../commands/test.js');
    await testProtocol('pop3', opts);
  });

  fieldFlags(common(
    test
      .command('graph')
      .argument('<mailbox>', 'mailbox id or name (a Microsoft 365 mailbox that signs in with OAuth 2.0)')
      .description('test Microsoft Graph for a saved mailbox: token, the mailbox (GET /users), its folder, and with --to a test message (sendMail)')
      .option('--to <address>', 'also send a small test message to this address through Graph')
      .option('--timeout-ms <n>', 'timeout of each step in milliseconds (default 15000)'),
  ), { mailboxId: '<mailbox>' }).action(async (idOrName, opts) => {
    const { testGraph } = await import('../commands/test.js');
    await testGraph(idOrName, opts);
  });

  fieldFlags(common(
    test
      .command('mailbox')
      .argument('<id-or-name>', 'mailbox id or name')
      .description('test a saved mailbox with its stored settings and secrets (both directions unless one is given)')
      .option('--incoming', 'test only receiving (IMAP, or POP3 for a mailbox that receives over POP3)')
      .option('--outgoing', 'test only sending (SMTP)')
      .option('--to <address>', 'also send a small test message to this address (outgoing)')
      .option('--timeout-ms <n>', 'timeout of each step in milliseconds (default 15000)'),
  ), { mailboxId: '<id-or-name>', direction: '--incoming / --outgoing' }).action(async (idOrName, opts) => {
    const { testMailbox } = await import('../commands/test.js');
    await testMailbox(idOrName, opts);
  });
}
