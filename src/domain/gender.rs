//! The profile's gender, one of a closed set.

/// What `users.gender` holds, as text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
    Other,
    #[default]
    Unspecified,
}

impl Gender {
    /// The value stored in `users.gender`.
    pub fn as_stored(self) -> &'static str {
        match self {
            Gender::Female => "FEMALE",
            Gender::Male => "MALE",
            Gender::Other => "OTHER",
            Gender::Unspecified => "UNSPECIFIED",
        }
    }

    /// A stored value; anything unknown reads as unspecified rather than
    /// failing the whole row.
    pub fn from_stored(value: &str) -> Gender {
        match value {
            "FEMALE" => Gender::Female,
            "MALE" => Gender::Male,
            "OTHER" => Gender::Other,
            _ => Gender::Unspecified,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip() {
        for g in [
            Gender::Female,
            Gender::Male,
            Gender::Other,
            Gender::Unspecified,
        ] {
            assert_eq!(Gender::from_stored(g.as_stored()), g);
        }
        assert_eq!(Gender::from_stored("?"), Gender::Unspecified);
    }
}
