//! What an uploaded avatar is: its type, from its signature, and whether the file is whole
//! (read structurally, without decoding pixels): a PNG's chunks with their checksums from
//! the header to the end chunk, a JPEG's segments from its start to its end marker with a
//! frame of some size, a GIF's screen of some size up to its trailer, a WebP's RIFF size.
//! So a cut-off or corrupted upload is refused rather than stored and shown broken.

/// The type of image `bytes` are, if they are a whole PNG, JPEG, GIF or WebP file.
pub(crate) fn whole_image(bytes: &[u8]) -> Option<&'static str> {
    let (kind, whole) = match signature(bytes)? {
        "image/png" => ("image/png", png(bytes)),
        "image/jpeg" => ("image/jpeg", jpeg(bytes)),
        "image/gif" => ("image/gif", gif(bytes)),
        other => (other, webp(bytes)),
    };
    whole.then_some(kind)
}

/// The image type whose signature `bytes` start with.
pub(crate) fn signature(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(PNG_SIGNATURE) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    bytes.get(at..at + 2).map(|word| usize::from(u16::from_be_bytes([word[0], word[1]])))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes.get(at..at + 2).map(|word| u16::from_le_bytes([word[0], word[1]]))
}

/// CRC-32 (ISO-HDLC, as PNG's chunks carry it).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(u32::MAX, |crc, &byte| (0..8).fold(crc ^ u32::from(byte), |crc, _| (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg())))
}

/// Chunks after the signature, each with a right checksum: `IHDR` first (13 bytes, width
/// and height above 0), `IEND` last and at the very end.
fn png(bytes: &[u8]) -> bool {
    let mut at = PNG_SIGNATURE.len();
    let mut first = true;
    while let Some(length) = be32(bytes, at) {
        let length = length as usize;
        let Some(kind) = bytes.get(at + 4..at + 8) else { return false };
        let Some(data) = bytes.get(at + 8..(at + 8).saturating_add(length)) else { return false };
        let Some(stored) = be32(bytes, at + 8 + length) else { return false };
        if crc32(&bytes[at + 4..at + 8 + length]) != stored {
            return false;
        }
        if first && (kind != b"IHDR" || length != 13 || be32(data, 0) == Some(0) || be32(data, 4) == Some(0)) {
            return false;
        }
        first = false;
        at += 12 + length;
        if kind == b"IEND" {
            return at == bytes.len();
        }
    }
    false
}

/// Segments from the start marker to the scan, one of them a frame (`SOFn`) of some width,
/// and the end marker as the last two bytes.
fn jpeg(bytes: &[u8]) -> bool {
    let mut at = 2;
    let mut framed = false;
    loop {
        // Markers may be padded with fill bytes (0xff).
        while bytes.get(at) == Some(&0xff) && bytes.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let (Some(&0xff), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else { return false };
        let Some(length) = be16(bytes, at + 2) else { return false };
        if length < 2 || at + 2 + length > bytes.len() {
            return false;
        }
        let frame = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
        if frame {
            framed |= be16(bytes, at + 7).is_some_and(|width| width > 0);
        }
        if marker == 0xda {
            return framed && bytes.len() >= at + 2 + length + 2 && bytes.ends_with(&[0xff, 0xd9]);
        }
        at += 2 + length;
    }
}

/// A logical screen of some size and the trailer as the last byte.
fn gif(bytes: &[u8]) -> bool {
    bytes.len() > 13 && le16(bytes, 6).is_some_and(|width| width > 0) && le16(bytes, 8).is_some_and(|height| height > 0) && bytes.ends_with(&[0x3b])
}

/// The RIFF size naming exactly the bytes after it, and a VP8 chunk of some kind first.
fn webp(bytes: &[u8]) -> bool {
    let size = bytes.get(4..8).map(|word| u32::from_le_bytes([word[0], word[1], word[2], word[3]]) as usize);
    size == Some(bytes.len() - 8) && matches!(bytes.get(12..16), Some(b"VP8 " | b"VP8L" | b"VP8X"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole 1×1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00,
        0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    /// A minimal JPEG's shape: start, a frame 1×1, a table, the scan, its data, the end.
    fn jpeg_file() -> Vec<u8> {
        let mut file = vec![0xff, 0xd8];
        file.extend([0xff, 0xe0, 0x00, 0x04, 0x00, 0x00]);
        file.extend([0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00]);
        file.extend([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
        file.extend([0x12, 0x34, 0xff, 0x00, 0x56]);
        file.extend([0xff, 0xd9]);
        file
    }

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn whole_files_are_images_of_their_type() {
        assert_eq!(whole_image(PNG), Some("image/png"));
        assert_eq!(whole_image(&jpeg_file()), Some("image/jpeg"));
        let gif = [b"GIF89a".as_slice(), &[1, 0, 1, 0, 0, 0, 0], &[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0], &[0x3b]].concat();
        assert_eq!(whole_image(&gif), Some("image/gif"));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8L\x05\0\0\0\x2f\0\0\0\0\0".to_vec();
        let size = (webp.len() - 8) as u32;
        webp[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(whole_image(&webp), Some("image/webp"));
    }

    #[test]
    fn cut_off_corrupted_or_empty_files_are_not() {
        for cut in [8, 30, PNG.len() - 1] {
            assert_eq!(whole_image(&PNG[..cut]), None, "PNG cut at {cut}");
        }
        let mut flipped = PNG.to_vec();
        flipped[45] ^= 0x01;
        assert_eq!(whole_image(&flipped), None, "a chunk whose checksum fails");
        assert_eq!(whole_image(&[PNG, b"trailing".as_slice()].concat()), None, "bytes after the end chunk");
        let mut wide = PNG.to_vec();
        wide[16..20].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(whole_image(&wide), None, "a width of 0");

        let jpeg = jpeg_file();
        assert_eq!(whole_image(&jpeg[..jpeg.len() - 2]), None, "no end marker");
        assert_eq!(whole_image(&jpeg[..20]), None, "cut in its frame");
        assert_eq!(whole_image(&[0xff, 0xd8, 0xff, 0xe0]), None);
        let frameless: Vec<u8> = [&jpeg[..8], &jpeg[21..]].concat();
        assert_eq!(whole_image(&frameless), None, "a scan without a frame");

        assert_eq!(whole_image(b"GIF89a\x01\0\x01\0\0\0\0"), None, "no trailer");
        assert_eq!(whole_image(b"GIF89a\0\0\x01\0\0\0\0\x3b"), None, "a width of 0");
        assert_eq!(whole_image(b"RIFF\x10\0\0\0WEBPVP8 "), None, "a RIFF size past the end");
        assert_eq!(whole_image(b"<svg xmlns="), None);
        assert_eq!(whole_image(b""), None);
    }

    #[test]
    fn signatures_name_the_type() {
        assert_eq!(signature(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(signature(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(signature(b"GIF89a..."), Some("image/gif"));
        assert_eq!(signature(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(signature(b"<svg xmlns="), None);
    }
}
