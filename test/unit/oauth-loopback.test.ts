/**
 * The redirect listener on its own: 127.0.0.1 only, Host checked, one answer
 * with the right state accepted (query or form post), others turned away,
 * closed after the page is sent.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startLoopbackListener } from '../../src-main/engine/auth/loopback-listener';
import { OAuthSettingsInput } from '../../src-main/shared/oauth';

function portOpen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A raw request, to set a Host header fetch would not let us forge. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('loopback listener', () => {
  it('listens on 127.0.0.1 only and answers only its own Host names', async () => {
    const listener = await startLoopbackListener({ expectedState: 'S' });
    try {
      expect(listener.address).toBe('127.0.0.1');
      expect(await portOpen(listener.port, '127.0.0.1')).toBe(true);
      expect(await portOpen(listener.port, '::1')).toBe(false);
      const rebound = await rawRequest(listener.port, `GET /?code=c&state=S HTTP/1.1\r\nHost: evil.test:${listener.port}\r\nConnection: close\r\n\r\n`);
      expect(rebound).toMatch(/^HTTP\/1\.1 421/);
    } finally {
      await listener.close();
    }
  });

  it('accepts one form post with the right state, then closes', async () => {
    const listener = await startLoopbackListener({ expectedState: 'right-state' });
    const wrong = await fetch(`http://127.0.0.1:${listener.port}/`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'code=c1&state=wrong' });
    expect(wrong.status).toBe(400);
    expect(listener.rejectedResponses).toBe(1);
    const favicon = await fetch(`http://127.0.0.1:${listener.port}/favicon.ico`);
    expect(favicon.status).toBe(404);
    const pending = fetch(`http://localhost:${listener.port}/`.replace('localhost', '127.0.0.1'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'code=the-code&state=right-state',
    });
    const response = await listener.response;
    expect(response).toEqual({ state: 'right-state', code: 'the-code', mode: 'form_post' });
    await listener.finish({ kind: 'success', title: 'Signed in', message: 'All good <script>alert(1)</script>' });
    const page = await pending;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('All good &lt;script&gt;');
    expect(listener.closed).toBe(true);
    expect(await portOpen(listener.port, '127.0.0.1')).toBe(false);
  });

  it('rejects a pending answer when closed (cancel or timeout)', async () => {
    const listener = await startLoopbackListener({ expectedState: 'S' });
    await listener.close(new Error('cancelled'));
    await expect(listener.response).rejects.toThrow('cancelled');
  });
});

describe('OAuth settings input', () => {
  it('accepts GUIDs, verified domains and organizations; refuses the rest with what to enter', () => {
    expect(OAuthSettingsInput.safeParse({ tenant: 'contoso.onmicrosoft.com', clientId: '0B7C1A2D-1234-4CDE-8F90-1A2B3C4D5E6F' }).success).toBe(true);
    expect(OAuthSettingsInput.safeParse({ tenant: 'organizations', clientId: '0b7c1a2d-1234-4cde-8f90-1a2b3c4d5e6f' }).success).toBe(true);
    const bad = OAuthSettingsInput.safeParse({ tenant: 'contoso', clientId: 'mailroom', authorityHost: 'http://login.microsoftonline.com/contoso' });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(messages).toContain('tenant: must be the Directory (tenant) ID');
    expect(messages).toContain('clientId: must be the Application (client) ID');
    expect(messages).toContain('authorityHost: must be an https:// address without a path');
  });
});
