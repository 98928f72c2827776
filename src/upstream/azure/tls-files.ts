// The Azure connectors read their `tls` files like every other upstream; kept under this name for them.
export { readTlsFiles, type TlsMaterial } from '../tls-files.js';
