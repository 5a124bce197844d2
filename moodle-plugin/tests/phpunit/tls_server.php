<?php
// Test HTTPS server with a freshly generated self-signed certificate. Not part of the plugin.
//
// Env: TLS_DIR (writes cert.pem, ready, requests.jsonl), TLS_PORT. Answers every request that
// completes the TLS handshake with 202; exits after 60 s without connections.
// @license GNU GPL v3 or later

$dir = getenv('TLS_DIR');
$port = (int)getenv('TLS_PORT');
$key = openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
$csr = openssl_csr_new(['commonName' => '127.0.0.1'], $key);
$cert = openssl_csr_sign($csr, null, $key, 1);
openssl_x509_export($cert, $certpem);
openssl_pkey_export($key, $keypem);
file_put_contents("$dir/cert.pem", $certpem . $keypem);

$context = stream_context_create(['ssl' => ['local_cert' => "$dir/cert.pem", 'verify_peer' => false]]);
$server = stream_socket_server("tls://127.0.0.1:$port", $errno, $errstr,
    STREAM_SERVER_BIND | STREAM_SERVER_LISTEN, $context);
if (!$server) {
    fwrite(STDERR, "cannot listen: $errstr\n");
    exit(1);
}
file_put_contents("$dir/ready", '1');
$idleuntil = time() + 60;
while (time() < $idleuntil) {
    // A client that refuses the certificate fails the handshake here: accept returns false.
    $conn = @stream_socket_accept($server, 1);
    if ($conn === false) {
        continue;
    }
    $idleuntil = time() + 60;
    $head = '';
    while (!str_contains($head, "\r\n\r\n") && !feof($conn)) {
        $head .= (string)fread($conn, 8192);
    }
    [$headers, $body] = explode("\r\n\r\n", $head, 2) + ['', ''];
    if (preg_match('/^Content-Length:\s*(\d+)/mi', $headers, $m)) {
        while (strlen($body) < (int)$m[1] && !feof($conn)) {
            $body .= (string)fread($conn, 8192);
        }
    }
    file_put_contents("$dir/requests.jsonl", json_encode(['headers' => $headers, 'body' => $body]) . "\n", FILE_APPEND);
    $answer = '{"status":"accepted"}';
    fwrite($conn, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: " . strlen($answer)
        . "\r\nConnection: close\r\n\r\n" . $answer);
    fclose($conn);
}
