// Signs one capability token with the npm `jose` package, as an issuer built on it would.
// Input (stdin, JSON): { privateJwk, alg, kid, claims }; output (stdout): the compact JWS.
import { SignJWT, importJWK } from 'jose';

const input = JSON.parse(await new Response(process.stdin).text());
const key = await importJWK(input.privateJwk, input.alg);
process.stdout.write(await new SignJWT(input.claims).setProtectedHeader({ alg: input.alg, kid: input.kid, typ: 'at+jwt' }).sign(key));
