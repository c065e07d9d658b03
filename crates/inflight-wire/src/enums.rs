//! The closed sets of the API as enums, each with an `Unknown` for values a newer server
//! adds (see the crate docs).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
            /// A value this version does not know: sent by a newer server. Never sent.
            #[serde(rename = "unknown", other)]
            Unknown,
        }

        impl $name {
            /// The JSON string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown => "unknown",
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Who started a request: a client of the service, or the service itself; or work of
    /// the service's own that is not an HTTP request.
    ///
    /// `Default` is `Inbound` only so that structs holding one can be `Default`.
    Direction {
        /// Served by this process: `inbound`.
        #[default]
        Inbound => "inbound",
        /// A call this process made: `outbound`.
        Outbound => "outbound",
        /// Work that is not an HTTP request (a queue message being consumed, say): `work`.
        Work => "work",
    }
}

wire_enum! {
    /// How a request ended.
    ///
    /// `Default` is `Completed` only so that structs holding one can be `Default`.
    Ending {
        /// Its response body was sent (or read) to the end: `completed`.
        #[default]
        Completed => "completed",
        /// The service answered with an error, or a gRPC call with a non-zero status: `failed`.
        Failed => "failed",
        /// Its response body ended with an error: `body_failed`.
        BodyFailed => "body_failed",
        /// Dropped before it had an answer: `dropped_early`.
        DroppedEarly => "dropped_early",
        /// An operator terminated it: `terminated`.
        Terminated => "terminated",
    }
}

wire_enum! {
    /// What `GET /healthz` says of the service.
    ///
    /// `Default` is `Free` only so that structs holding one can be `Default`.
    HealthState {
        /// No busy rule is met: `free`.
        #[default]
        Free => "free",
        /// A busy rule is met (see the report's `reasons`): `busy`.
        Busy => "busy",
    }
}

wire_enum! {
    /// What a control request did to a request.
    ///
    /// `Default` is `Terminate` only so that structs holding one can be `Default`.
    ControlAction {
        /// `DELETE /requests/{id}`: `terminate`.
        #[default]
        Terminate => "terminate",
        /// `POST /requests/{id}/cancel`: `cancel`.
        Cancel => "cancel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(value: T, text: &str)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug + fmt::Display,
    {
        let json = format!("\"{text}\"");
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        assert_eq!(value.to_string(), text);
    }

    #[test]
    fn each_value_keeps_its_json_string() {
        round_trip(Direction::Inbound, "inbound");
        round_trip(Direction::Outbound, "outbound");
        round_trip(Direction::Work, "work");
        round_trip(Ending::Completed, "completed");
        round_trip(Ending::Failed, "failed");
        round_trip(Ending::BodyFailed, "body_failed");
        round_trip(Ending::DroppedEarly, "dropped_early");
        round_trip(Ending::Terminated, "terminated");
        round_trip(HealthState::Free, "free");
        round_trip(HealthState::Busy, "busy");
        round_trip(ControlAction::Terminate, "terminate");
        round_trip(ControlAction::Cancel, "cancel");
    }

    #[test]
    fn a_newer_servers_values_read_as_unknown() {
        assert_eq!(
            serde_json::from_str::<Direction>("\"batch\"").unwrap(),
            Direction::Unknown
        );
        assert_eq!(
            serde_json::from_str::<Ending>("\"timed_out\"").unwrap(),
            Ending::Unknown
        );
        assert_eq!(
            serde_json::from_str::<HealthState>("\"draining\"").unwrap(),
            HealthState::Unknown
        );
        assert_eq!(
            serde_json::from_str::<ControlAction>("\"pause\"").unwrap(),
            ControlAction::Unknown
        );
        assert_eq!(Direction::Unknown.to_string(), "unknown");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error() {
        // `Unknown` stands for strings only: a number is a broken answer, not a newer one.
        for bad in ["7", "null", "{}"] {
            assert!(serde_json::from_str::<Direction>(bad).is_err(), "{bad}");
        }
    }
}
