/** Types of network-guard.mjs (a plain module, so that child processes can --import it). */
export interface NetworkAttempt {
  kind: 'tcp' | 'dns' | 'udp';
  host: string;
  port: number | null;
}
export function installNetworkGuard(closedPort: number): () => void;
export function networkAttempts(): NetworkAttempt[];
