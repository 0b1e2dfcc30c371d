"""Plain domain data: no HTTP, no url_for. Importing this package registers every table."""
from kb.models.base import MAX_ID, Base, utcnow, valid_id
from kb.models.harvest import OaiTombstone
from kb.models.resources import (
    LANGUAGES, ExtractionState, Resource, ResourceAuthor, ResourceEvent, ResourceFile,
    ResourceLanguage, Status, Tag, Visibility, resource_objectives, resource_tags,
)
from kb.models.changes import IndexChange, IndexLogState, IndexNode
from kb.models.jobs import Job, JobState
from kb.models.users import AccountStatus, ApiToken, AuditEvent, Notification, Role, User
from kb.models.vocab import (Commune, District, GlossaryEntry, Objective, Organisation, Province,
                             ResourceKind)
from kb.models.workshops import Workshop, WorkshopItem, WorkshopVisibility
from kb.models.consultations import (Consultation, ConsultationQuestion, ConsultationResponse,
                                     ConsultationSection, ConsultationState, Participation,
                                     ResponseEndorsement)
from kb.models.calendar import CalendarFeed, Meeting, MeetingKind

__all__ = [
    "MAX_ID", "Base", "utcnow", "valid_id", "LANGUAGES", "ExtractionState", "Resource",
    "ResourceAuthor", "ResourceEvent", "ResourceFile", "IndexChange", "IndexLogState",
    "IndexNode", "Job", "JobState", "ResourceLanguage",
    "Status", "Tag", "Visibility", "resource_objectives", "resource_tags", "AccountStatus",
    "ApiToken", "AuditEvent", "Notification", "Role", "User", "Commune", "District",
    "GlossaryEntry", "Objective", "Organisation", "Province", "ResourceKind", "Workshop",
    "WorkshopItem", "WorkshopVisibility", "OaiTombstone",
    "Consultation", "ConsultationQuestion", "ConsultationResponse", "ConsultationSection",
    "ConsultationState", "Participation", "ResponseEndorsement", "CalendarFeed", "Meeting",
    "MeetingKind",
]
