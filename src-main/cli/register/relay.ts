/** Registers `mailroom relay ...`. Actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

export function registerRelayCommands(program: Command): void {
  const relay = program.command('relay').description('the local submission relay for scanners and other applications that speak plain SMTP (127.0.0.1 only)');

  common(
    relay
      .command('start')
      .description('run the relay in the foreground (and send what it queues, unless another Mailroom sends); Ctrl+C stops')
      .option('--port <port>', 'port on 127.0.0.1 (default: the saved relay port, 2525)'),
  ).action(async (opts) => {
    const { startCommand } = await import('../commands/relay.js');
    await startCommand(opts);
  });

  common(relay.command('show').description('show the relay settings and accounts (never their passwords)')).action(async (opts) => {
    const { showCommand } = await import('../commands/relay.js');
    await showCommand(opts);
  });

  fieldFlags(common(
    relay
      .command('set')
      .description('change the relay settings; only the flags given change')
      .option('--enable', 'start the relay with the desktop app, the browser console and "mailroom engine run"')
      .option('--disable', 'do not start it with them')
      .option('--port <port>', 'port on 127.0.0.1 (default 2525)')
      .option('--allow-unauthenticated <on|off>', "accept mail without sign-in when the sender is a mailbox's own address")
      .option('--max-message-mb <n>', 'largest accepted message in MB (default 35)')
      .option('--tls-cert <file>', 'PEM certificate to offer STARTTLS with (needs --tls-key)')
      .option('--tls-key <file>', 'PEM private key of --tls-cert')
      .option('--no-tls', 'remove the stored certificate: no STARTTLS'),
  ), { enabled: '--enable / --disable', maxMessageBytes: '--max-message-mb', tls: '--tls-cert / --tls-key', 'tls.certPem': '--tls-cert', 'tls.keyPem': '--tls-key' }).action(async (opts) => {
    const { setCommand } = await import('../commands/relay.js');
    await setCommand(opts);
  });

  const account = relay.command('account').description('relay accounts: the user name and password an application signs in with, and the mailbox it sends from');
  fieldFlags(common(
    account
      .command('add')
      .argument('<username>', 'user name for the application, such as scanner')
      .description('add an account (or change its mailbox and password)')
      .requiredOption('--mailbox <mailbox>', 'the mailbox its mail is sent from (id or name)')
      .option('--password-env <NAME>', 'read the password from this environment variable')
      .option('--password-stdin', 'read the password from standard input')
      .option('--from <keep|mailbox>', "keep: send with the application's own From (default); mailbox: send as the mailbox's address, the application's From goes to Reply-To"),
  ), { 'addAccounts.*.username': '<username>', 'addAccounts.*.mailboxId': '--mailbox', 'addAccounts.*.password': '--password-env / --password-stdin', 'addAccounts.*.fromMode': '--from' }).action(async (username, opts) => {
    const { accountAddCommand } = await import('../commands/relay.js');
    await accountAddCommand(username, opts);
  });
  fieldFlags(common(
    account
      .command('update')
      .argument('<username>', 'user name of the account')
      .description('change an account: only what is given changes')
      .option('--mailbox <mailbox>', 'the mailbox its mail is sent from (id or name)')
      .option('--password-env <NAME>', 'a new password, from this environment variable')
      .option('--password-stdin', 'a new password, from standard input')
      .option('--from <keep|mailbox>', "keep: send with the application's own From; mailbox: send as the mailbox's address, the application's From goes to Reply-To"),
  ), { 'updateAccounts.*.username': '<username>', 'updateAccounts.*.mailboxId': '--mailbox', 'updateAccounts.*.password': '--password-env / --password-stdin', 'updateAccounts.*.fromMode': '--from' }).action(async (username, opts) => {
    const { accountUpdateCommand } = await import('../commands/relay.js');
    await accountUpdateCommand(username, opts);
  });
  fieldFlags(common(account.command('remove').argument('<username>', 'user name').description('remove an account')), { 'removeAccounts.*': '<username>' }).action(async (username, opts) => {
    const { accountRemoveCommand } = await import('../commands/relay.js');
    await accountRemoveCommand(username, opts);
  });
}
