// Signs one DPoP proof with the npm `dpop` package, exactly as an agent using that library would.
// Input (stdin, JSON): { privateJwk, htu, htm, accessToken, nonce? }; output (stdout): the proof.
// The key comes from the test so that the test knows its thumbprint before minting the bound token.
import { generateProof } from 'dpop';

const input = JSON.parse(await new Response(process.stdin).text());
const { d, ...publicJwk } = input.privateJwk;
const algorithm = publicJwk.kty === 'OKP' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
const privateKey = await crypto.subtle.importKey('jwk', input.privateJwk, algorithm, false, ['sign']);
// The library exports the public key into the proof's header, so it must be extractable.
const publicKey = await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']);
process.stdout.write(await generateProof({ privateKey, publicKey }, input.htu, input.htm, input.nonce, input.accessToken));
