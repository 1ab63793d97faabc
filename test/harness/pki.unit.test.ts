import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { createCA, issueCert } from './pki.ts';

test('a server cert from the tiny CA is trusted for its IP SAN and a client cert carries its groups', async (t) => {
  const ca = await createCA('test-ca');
  const server = await issueCert(ca, {
    commonName: 'localhost',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const client = await issueCert(ca, {
    commonName: 'admin',
    organizations: ['system:masters'],
    usage: 'client',
  });

  const clientCert = new X509Certificate(client.certPem);
  assert.match(clientCert.subject, /O=system:masters/);
  assert.ok(clientCert.verify(new X509Certificate(ca.certPem).publicKey));

  const srv = createServer(
    { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (sock) => sock.end(`hello ${sock.getPeerCertificate().subject?.CN}`),
  );
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const sock = connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem });
  let data = '';
  sock.on('data', (d: Buffer) => {
    data += d.toString();
  });
  await once(sock, 'end');
  assert.equal(sock.authorized, true);
  assert.equal(data, 'hello admin');
});

test('a cert from another CA is refused', async () => {
  const ca = await createCA('test-ca');
  const other = await createCA('other-ca');
  const server = await issueCert(other, {
    commonName: 'localhost',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  assert.equal(new X509Certificate(server.certPem).verify(new X509Certificate(ca.certPem).publicKey), false);
});
