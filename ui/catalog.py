"""The pages of CNN Lab, grouped by course section: one list feeds the navigation and
the home page's cards, so a page appears in both or in neither. Only pages that work
are listed. This module imports nothing heavy: the home page reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page: its script, its title and icon in the menu, its section, a one-line summary,
    and, for a page some of whose parts run downloaded weights, what of it runs without them
    (None: the whole page works offline) and the course topic its weights are listed under in
    ``core.runtime.weights``."""

    script: str
    title: str
    icon: str
    section: str
    summary: str
    without_downloads: str | None = None
    topic: str | None = None


SECTIONS: tuple[str, ...] = (
    "Foundations",
    "Architectures",
    "Detection & segmentation",
    "Special applications",
    "Setup",
)

HOME = PageInfo("app_pages/home.py", "Home", ":material/home:", "", "What CNN Lab is and where to start.")

PAGES: tuple[PageInfo, ...] = (
    PageInfo(
        "app_pages/conv_calculator.py",
        "Conv calculator",
        ":material/grid_on:",
        "Foundations",
        "Output sizes, convolution step by step, edge filters on your image, pooling, layer tables.",
    ),
    PageInfo(
        "app_pages/model_comparisons.py",
        "Model comparisons",
        ":material/leaderboard:",
        "Architectures",
        "LeNet-5 to EfficientNet measured in one table and on this server; ResNets, Inception; classify with several.",
        "the tables, latency on this server, ResNets, Inception, the degradation experiment and LeNet-5 on digits; "
        "only classifying photos with ImageNet networks needs downloads",
        topic="comparisons",
    ),
    PageInfo(
        "app_pages/mobilenet.py",
        "MobileNet cost estimator",
        ":material/speed:",
        "Architectures",
        "Normal against depthwise-separable convolution, MobileNet v1 and v2, EfficientNet scaling, measured here.",
    ),
    PageInfo(
        "app_pages/transfer.py",
        "Transfer learning",
        ":material/model_training:",
        "Architectures",
        "Your own classes from a few photos: the three transfer regimes side by side, digits offline, augmentation.",
        "your classes, training from scratch (d), the transfer between digits and the augmentation gallery; "
        "regimes (a)–(c) need ImageNet weights",
        topic="transfer",
    ),
    PageInfo(
        "app_pages/object_detection.py",
        "Object detection",
        ":material/center_focus_strong:",
        "Detection & segmentation",
        "YOLO11 on your image; IoU, non-max suppression, anchors and sliding windows made visible.",
        "the localization target, IoU, non-max suppression on a made-up scene, grid and anchors, sliding windows; "
        "YOLO and Faster R-CNN need downloads",
        topic="detection",
    ),
    PageInfo(
        "app_pages/segmentation.py",
        "U-Net segmentation",
        ":material/texture:",
        "Detection & segmentation",
        "Build, inspect and train a U-Net; transposed convolution step by step; masks on your image.",
        "everything but DeepLabV3 and YOLO11-seg on photos: the shipped U-Net is trained by CNN Lab",
        topic="segmentation",
    ),
    PageInfo(
        "app_pages/faces.py",
        "Face recognition",
        ":material/face:",
        "Special applications",
        "Find faces and landmarks, enroll people from one photo, verify and recognize them; triplet-loss labs.",
        "face detection, landmarks, crops, enrollment and the triplet loss on the crops' pixels; verifying, "
        "recognizing and the other labs need FaceNet's weights",
        topic="faces",
    ),
    PageInfo(
        "app_pages/style_transfer.py",
        "Neural style transfer",
        ":material/brush:",
        "Special applications",
        "Paint your photo in another image's style with VGG19, or in one pass on images, videos and the live "
        "camera; Gram matrices; what each layer responds to.",
        "fast style, on images, videos and the live camera; the optimization and the other tabs run VGG19, "
        "whose ImageNet weights must be downloaded first",
        topic="style",
    ),
    PageInfo(
        "app_pages/weights.py",
        "Models & weights",
        ":material/deployed_code:",
        "Setup",
        "Every pretrained network the lab uses: where it comes from, whether it is here, download it.",
    ),
)


def pages_in(section: str) -> list[PageInfo]:
    return [page for page in PAGES if page.section == section]


def page_titled(title: str) -> PageInfo | None:
    return next((page for page in PAGES if page.title == title), None)


def titles_of(topics: tuple[str, ...]) -> list[str]:
    """The titles of the pages of these course topics."""
    return [page.title for page in PAGES if page.topic in topics]
