//! The key of a contact the SIS gives no id of their own: who they are by
//! (email, phone or student) and their folded name. The key is stored as
//! their id, so its folding is frozen as it was before schema v11:
//! [`crate::text::fold`] may change (it transliterates since v11), these
//! keys must not, or the next import would see every such contact stored
//! before as someone new.

/// `by/given family`, the name folded as it always was.
pub fn contact_key(by: &str, given: &str, family: &str) -> String {
    let mut key = String::with_capacity(by.len() + given.len() + family.len() + 2);
    key.push_str(by);
    key.push('/');
    for c in given.chars().chain([' ']).chain(family.chars()) {
        push_folded(c, &mut key);
    }
    key
}

/// Lower case, accents removed by a fixed table of Latin letters; anything
/// else lower-cased as it is.
fn push_folded(c: char, out: &mut String) {
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' | 'ạ' | 'ả' | 'ấ' | 'ầ' | 'ẩ' | 'ẫ' | 'ậ' | 'ắ' | 'ằ' | 'ẳ' | 'ẵ'
        | 'ặ' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ'
        | 'Ė' | 'Ę' | 'Ě' | 'ẹ' | 'ẻ' | 'ẽ' | 'ế' | 'ề' | 'ể' | 'ễ' | 'ệ' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "g",
        'ĥ' | 'ħ' | 'Ĥ' | 'Ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī'
        | 'Ĭ' | 'Į' | 'İ' | 'ỉ' | 'ị' => "i",
        'ĵ' | 'Ĵ' => "j",
        'ķ' | 'Ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø'
        | 'Ō' | 'Ŏ' | 'Ő' | 'ơ' | 'Ơ' | 'ọ' | 'ỏ' | 'ố' | 'ồ' | 'ổ' | 'ỗ' | 'ộ' | 'ớ' | 'ờ'
        | 'ở' | 'ỡ' | 'ợ' => "o",
        'œ' | 'Œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' | 'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ư' | 'Ù' | 'Ú' | 'Û' | 'Ü'
        | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' | 'Ư' | 'ụ' | 'ủ' | 'ứ' | 'ừ' | 'ử' | 'ữ' | 'ự' => {
            "u"
        }
        'ŵ' | 'Ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' | 'Ý' | 'Ÿ' | 'Ŷ' | 'ỳ' | 'ỷ' | 'ỹ' | 'ỵ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        // Curly apostrophes fold to the plain one, so O’Brien finds O'Brien.
        '\u{2018}' | '\u{2019}' | '\u{02BC}' => "'",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(s);
}

#[cfg(test)]
mod tests {
    use super::contact_key;

    #[test]
    fn keys_fold_as_they_always_did() {
        #[rustfmt::skip]
        let table = [
            ("a@x.org", "Zoë", "Müller-Straße", "a@x.org/zoe muller-strasse"),
            ("a@x.org", "Łukasz", "O’Brien", "a@x.org/lukasz o'brien"),
            // Not transliterated (text::fold gives "dmitrii ivanov"), nor
            // normalised: these are stored ids.
            ("0400", "Дмитрий", "Иванов", "0400/дмитрий иванов"),
            ("s1", "Zoe\u{308}", "Lee", "s1/zoe\u{308} lee"),
        ];
        for (by, given, family, key) in table {
            assert_eq!(contact_key(by, given, family), key);
        }
    }
}
