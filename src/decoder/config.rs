//! [`Config`]: the decoder's limits, what it reports, and the settings of
//! the layers built on it (memory release, sharing, raw frames).

#[cfg(doc)]
use super::{Decoder, Item};
#[cfg(doc)]
use crate::DecodeError;

/// Decoder settings: limits and which extra items to report.
///
/// # Example
/// ```
/// # #[cfg(feature = "alloc")] {
/// let mut config = ssewire::Config::default();
/// config.max_line_len(64 * 1024).comments(true);
/// let dec = ssewire::Decoder::with_config(&config);
/// # let _ = dec;
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) max_line_len: usize,
    pub(crate) max_data_len: usize,
    pub(crate) comments: bool,
    pub(crate) blank_lines: bool,
    pub(crate) raw_frames: Option<usize>,
    pub(crate) max_idle_buffer: usize,
    pub(crate) max_pin: usize,
}

impl Config {
    /// The default maximum line length: 16 MiB.
    ///
    /// Real streams carry long lines: image generation sends a whole
    /// base64 image (commonly 1-5 MB) as one `data:` line, and 1 MiB caps
    /// are the most reported SSE client failure in other ecosystems. 16 MiB
    /// is several times the largest such line seen, and still bounds what a
    /// misbehaving server can make a decoder hold. With growable buffers
    /// every decoder of this crate holds at most about `max_line_len +
    /// max_data_len` (plus an eighth: 54 MiB at the defaults) while such an
    /// event is in flight, and gives it back once the event is handed out
    /// (see [`Config::max_idle_buffer`]). With [raw
    /// frames](Config::raw_frames), add the block's raw bytes, plus an
    /// eighth (the block of the largest event is about 32 MiB: 90 MiB in
    /// all). `tests/memory.rs` measures both.
    pub const DEFAULT_MAX_LINE_LEN: usize = 16 << 20;
    /// The default maximum data length of one event: 32 MiB (two maximal
    /// lines; see [`Config::DEFAULT_MAX_LINE_LEN`] for the memory it allows).
    pub const DEFAULT_MAX_DATA_LEN: usize = 32 << 20;
    /// The default [`Config::max_idle_buffer`]: 16 KiB.
    pub const DEFAULT_MAX_IDLE_BUFFER: usize = 16 << 10;
    /// The default [`Config::max_pin`]: 64 KiB.
    pub const DEFAULT_MAX_PIN: usize = 64 << 10;

    /// Longest line accepted, in bytes, line ending excluded (default
    /// [`Config::DEFAULT_MAX_LINE_LEN`]). A longer line yields
    /// [`DecodeError::LineTooLong`], is skipped, and its event is dropped.
    /// This bounds the memory one line can take. `usize::MAX` means no limit.
    pub fn max_line_len(&mut self, max: usize) -> &mut Self {
        self.max_line_len = max;
        self
    }

    /// Longest data accepted for one event, in bytes, counting the LFs that
    /// join its lines (default [`Config::DEFAULT_MAX_DATA_LEN`]). More
    /// yields [`DecodeError::DataTooLong`] and the event is dropped.
    /// `usize::MAX` means no limit.
    pub fn max_data_len(&mut self, max: usize) -> &mut Self {
        self.max_data_len = max;
        self
    }

    /// Report comment lines as [`Item::Comment`] (default `false`).
    pub fn comments(&mut self, on: bool) -> &mut Self {
        self.comments = on;
        self
    }

    /// Report every blank line that dispatches no event as [`Item::Blank`]
    /// (default `false`). With it, each block of the stream ends in exactly one
    /// item (`Event` or `Blank`), which is what framing proxies need.
    pub fn blank_lines(&mut self, on: bool) -> &mut Self {
        self.blank_lines = on;
        self
    }
}

impl Config {
    /// The default maximum raw frame length: 64 MiB (a block at the default
    /// line and data limits, with room for its field names).
    pub const DEFAULT_MAX_FRAME_LEN: usize = 64 << 20;

    /// The largest capacity a growable buffer keeps once it is idle
    /// (default [`Config::DEFAULT_MAX_IDLE_BUFFER`]). When a chunk is used up
    /// (the end of a `feed_all` call, or `feed` returning `None`), buffers
    /// larger than this that hold nothing still needed are released, so a
    /// long-lived, idle connection holds a small constant whatever it once
    /// received; buffers at or under it are kept, so ordinary traffic does
    /// not allocate. The price: an event larger than this that straddles
    /// chunks may cost a few allocations when the decoder went idle before
    /// it (raise it for streams of large events). [`Decoder::shrink`]
    /// releases everything idle at once. Fixed buffers have nothing to
    /// release.
    pub fn max_idle_buffer(&mut self, bytes: usize) -> &mut Self {
        self.max_idle_buffer = bytes;
        self
    }

    /// How much input zero-copy data may keep alive (the `bytes` layer;
    /// default [`Config::DEFAULT_MAX_PIN`]). Data shares its input chunk
    /// only when it is 1 KiB or longer and that chunk is at most
    /// `max(max_pin, 4 × the data's length)` bytes; other data is copied
    /// (once, into a shared 4 KiB block, or inline in the event up to 23
    /// bytes), so a retained event never pins a large read for a few bytes
    /// of data. `usize::MAX` shares whatever lies inside the chunk.
    pub fn max_pin(&mut self, bytes: usize) -> &mut Self {
        self.max_pin = bytes;
        self
    }

    /// Hand out each block's exact input bytes (raw frames, for proxies
    /// that forward what they do not change byte for byte), up to `max_len`
    /// bytes a frame; a longer frame gives [`DecodeError::FrameTooLong`] and
    /// no raw bytes. (The LF of a block's final CRLF is not counted, so a
    /// block is judged the same whether that LF arrives with its CR or in
    /// the next chunk; the proxy bodies bound their blocks by the same
    /// rule.) Used by the `bytes` layer and the adapters built on it
    /// (`BytesDecoder`, `EventStream`, `SseCodec`); off by default. The
    /// borrowed [`Decoder`] has no raw frames and ignores it. A block that
    /// straddles reads is held until its end: memory for raw frames is the
    /// largest block's length, plus an eighth.
    pub fn raw_frames(&mut self, max_len: usize) -> &mut Self {
        self.raw_frames = Some(max_len);
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            raw_frames: None,
            max_idle_buffer: Self::DEFAULT_MAX_IDLE_BUFFER,
            max_pin: Self::DEFAULT_MAX_PIN,
            max_line_len: Self::DEFAULT_MAX_LINE_LEN,
            max_data_len: Self::DEFAULT_MAX_DATA_LEN,
            comments: false,
            blank_lines: false,
        }
    }
}
