//! A minimal PDF writer: one or more A4 pages of text lines in Helvetica, enough for a printable
//! list. Written by hand (PDF 1.4, section 7 of ISO 32000-1) because a page of text does not
//! justify a PDF library; text outside Latin-1 is shown as `?` (WinAnsiEncoding).

/// A line of text on a page: size in points, bold or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub size: f32,
    pub bold: bool,
}

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;

/// Lays the lines out top to bottom, starting new pages as needed, and returns the PDF bytes.
pub fn render(title: &str, lines: &[Line]) -> Vec<u8> {
    let mut pages: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut y = PAGE_HEIGHT - MARGIN;
    for line in lines {
        let leading = line.size * 1.35;
        if y - leading < MARGIN {
            pages.push(std::mem::take(&mut content));
            y = PAGE_HEIGHT - MARGIN;
        }
        y -= leading;
        let font = if line.bold { "F2" } else { "F1" };
        content.push_str(&format!(
            "BT /{font} {:.1} Tf {MARGIN:.1} {y:.1} Td ({}) Tj ET\n",
            line.size,
            escape(&line.text)
        ));
    }
    pages.push(content);

    // Objects: 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then a page and its content each.
    let mut objects: Vec<String> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|index| 6 + index * 2).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    );
    objects.push(format!("<< /Title ({}) /Producer (firebreak) >>", escape(title)));
    for (index, content) in pages.iter().enumerate() {
        let content_id = page_ids[index] + 1;
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_id} 0 R >>"
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{content}endstream", content.len()));
    }

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A PDF string literal's content: Latin-1 bytes, with `\`, `(` and `)` escaped; other
/// characters become `?`, control characters a space.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c if u32::from(c) < 0x80 => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\{:03o}", u32::from(c))),
            _ => out.push('?'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let lines: Vec<Line> = (0..120)
            .map(|n| Line { text: format!("line {n} (é) \\ ✓"), size: 11.0, bold: n == 0 })
            .collect();
        let pdf = render("Contacts", &lines);
        // Only the header's marker bytes are outside ASCII; offsets below are byte offsets.
        let at = |offset: usize, prefix: &str| pdf[offset..].starts_with(prefix.as_bytes());
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.contains("/Count 3"), "120 lines of 11 pt take three pages");
        let xref_at: usize =
            text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(at(xref_at, "xref"));
        let table = String::from_utf8_lossy(&pdf[xref_at..]).into_owned();
        for (index, entry) in table.lines().skip(3).take_while(|l| l.ends_with(" n ")).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(at(offset, &format!("{} 0 obj", index + 1)), "object {}", index + 1);
        }
        assert!(text.contains("line 0 \\(\\351\\) \\\\ ?"));
    }
}
