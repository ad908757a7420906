"""The talking_head_videos TFDS builder (importing registers it)."""

from data_prep.talking_head_videos.talking_head_videos import TalkingHeadVideos

__all__ = ["TalkingHeadVideos"]
