//! The role catalogue (part-2 §3, exact names), what each role allows, and the effective
//! roles of a caller: the union of organisation, group and user assignments, keeping only
//! roles whose service the organisation is entitled to (L3885–L3888).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A service an organisation can be entitled to; roles of a service only count where the
/// organisation is entitled to it. System roles belong to no service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Service {
    /// Cloud Fleet Management.
    #[serde(rename = "Fleet Management")]
    FleetManagement,
    /// Cloud Print Management (Print Release).
    #[serde(rename = "Print Management")]
    PrintManagement,
    /// Hybrid Print Management.
    #[serde(rename = "Hybrid Print Management")]
    HybridPrintManagement,
    /// Direct Print Management.
    #[serde(rename = "Direct Print Management")]
    DirectPrintManagement,
    /// Cloud Scan Management.
    #[serde(rename = "Scan Management")]
    ScanManagement,
    /// Translation Assistant.
    #[serde(rename = "Translation Assistant")]
    TranslationAssistant,
    /// Solution Center (and its solution quotas).
    #[serde(rename = "Solution Center")]
    SolutionCenter,
    /// Redaction Assistant.
    #[serde(rename = "Redaction Assistant")]
    RedactionAssistant,
    /// Announcement Center.
    #[serde(rename = "Announcement Center")]
    AnnouncementCenter,
}

impl Service {
    /// Every service, e.g. for a deployment's first organisation.
    pub const ALL: [Service; 9] = [
        Service::FleetManagement,
        Service::PrintManagement,
        Service::HybridPrintManagement,
        Service::DirectPrintManagement,
        Service::ScanManagement,
        Service::TranslationAssistant,
        Service::SolutionCenter,
        Service::RedactionAssistant,
        Service::AnnouncementCenter,
    ];
}

/// Every role of part-2 §3, by its exact name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Role {
    // R-SYS
    /// View users, badges, groups, applications and organisation data (L3894).
    #[serde(rename = "Help Desk")]
    HelpDesk,
    /// Manage the organisation and its users (L3895, L3853–L3862).
    #[serde(rename = "Organization Administrator")]
    OrganizationAdministrator,
    /// Manage child organisations created under the parent (L3896–L3901).
    #[serde(rename = "Partner Administrator")]
    PartnerAdministrator,
    /// Own account only; the default role (L3903).
    #[serde(rename = "User")]
    User,
    /// Manage users, groups and badges; view organisation data (L3904–L3907).
    #[serde(rename = "User Administrator")]
    UserAdministrator,
    // R-FM
    /// File management and printer log downloads (L3911–L3918).
    #[serde(rename = "File Service Administrator")]
    FileServiceAdministrator,
    /// Discover, enroll and configure printers (L3920–L3924).
    #[serde(rename = "Fleet Management Administrator")]
    FleetManagementAdministrator,
    /// Fleet reporting data only (L3926–L3929).
    #[serde(rename = "Fleet Management Reporting Analyst")]
    FleetManagementReportingAnalyst,
    /// View printers, no actions (L3931–L3937).
    #[serde(rename = "Fleet Management Viewer")]
    FleetManagementViewer,
    // R-PM
    /// Print settings, other users' queues, delegates, quotas, retention (L3945–L3954).
    #[serde(rename = "Print Release Management Administrator")]
    PrintReleaseManagementAdministrator,
    /// Print reporting data only; cannot submit jobs (L3956–L3960).
    #[serde(rename = "Print Release Management Reporting Analyst")]
    PrintReleaseManagementReportingAnalyst,
    /// Send, view and manage own print jobs; delegate them (L3962–L3969).
    #[serde(rename = "Print Release Management User")]
    PrintReleaseManagementUser,
    /// Non-registered users who submit only by e-mail (L3971–L3972).
    #[serde(rename = "Print Management Guest User")]
    PrintManagementGuestUser,
    // R-HPM
    /// Hybrid Print Management settings, queues, quotas (L3976–L3984).
    #[serde(rename = "Hybrid Print Management Administrator")]
    HybridPrintManagementAdministrator,
    /// Own hybrid print jobs (L3986–L3987).
    #[serde(rename = "Hybrid Print Management User")]
    HybridPrintManagementUser,
    // R-DPM
    /// Direct Print configuration and access (L3991–L3996).
    #[serde(rename = "Direct Print Management Administrator")]
    DirectPrintManagementAdministrator,
    /// Send jobs through Direct Print (L3998).
    #[serde(rename = "Direct Print Management User")]
    DirectPrintManagementUser,
    // R-SCAN
    /// Scan destinations across the organisation (L4001–L4002).
    #[serde(rename = "Scan Management Administrator")]
    ScanManagementAdministrator,
    /// Scan to destinations (L4003).
    #[serde(rename = "Scan Management User")]
    ScanManagementUser,
    // R-TA
    /// Translation Assistant settings (L4007).
    #[serde(rename = "Translation Assistant Administrator")]
    TranslationAssistantAdministrator,
    /// Use Translation Assistant (L4008–L4009).
    #[serde(rename = "Translation Assistant User")]
    TranslationAssistantUser,
    // R-SC
    /// Personal and shareable solutions (L4013–L4017).
    #[serde(rename = "Solution Center Administrator")]
    SolutionCenterAdministrator,
    /// Personal solutions (L4019).
    #[serde(rename = "Solution Center Advanced User")]
    SolutionCenterAdvancedUser,
    /// Runs solutions (L4020).
    #[serde(rename = "Solution Center User")]
    SolutionCenterUser,
    // R-SQ
    /// Solution quota configuration (L4024–L4025).
    #[serde(rename = "Solutions Quota Administrator")]
    SolutionsQuotaAdministrator,
    // R-RA
    /// Use Redaction Assistant (L4029–L4030).
    #[serde(rename = "Redaction Assistant User")]
    RedactionAssistantUser,
    // R-AC
    /// Compose announcements (L4034–L4035).
    #[serde(rename = "Announcement Center Author Admin")]
    AnnouncementCenterAuthorAdmin,
}

/// What a request may need; every route asks [`allows`] for exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Read organisation data and settings.
    ViewOrganisation,
    /// Change organisation settings (printer login, password rules, ...).
    ManageOrganisation,
    /// Create and delete child organisations (D-SUBORG, with the access group).
    ManageChildOrganisations,
    /// Read users, groups and badges.
    ViewUsers,
    /// Create, change and delete users and groups; imports.
    ManageUsers,
    /// Assign and remove roles.
    ManageRoles,
    /// Read and manage OAuth applications.
    ManageApplications,
    /// Register and delete badges, generate, delete and import PINs.
    ManageBadgesAndPins,
    /// See printers.
    ViewFleet,
    /// Enroll, change and unenroll printers; labels; notification policies.
    ManageFleet,
    /// Organisational print settings, other users' queues, delegates, quotas, policies.
    ManagePrintRelease,
    /// Submit and release one's own print jobs.
    UsePrintRelease,
    /// Print reports.
    ViewPrintReports,
    /// Create organisational solutions.
    ManageSolutions,
    /// Create personal solutions.
    CreatePersonalSolutions,
    /// Run solutions.
    RunSolutions,
    /// Solution quotas and distributions.
    ManageSolutionQuotas,
}

impl Role {
    /// Every role, in catalogue order.
    pub const ALL: [Role; 27] = [
        Role::HelpDesk,
        Role::OrganizationAdministrator,
        Role::PartnerAdministrator,
        Role::User,
        Role::UserAdministrator,
        Role::FileServiceAdministrator,
        Role::FleetManagementAdministrator,
        Role::FleetManagementReportingAnalyst,
        Role::FleetManagementViewer,
        Role::PrintReleaseManagementAdministrator,
        Role::PrintReleaseManagementReportingAnalyst,
        Role::PrintReleaseManagementUser,
        Role::PrintManagementGuestUser,
        Role::HybridPrintManagementAdministrator,
        Role::HybridPrintManagementUser,
        Role::DirectPrintManagementAdministrator,
        Role::DirectPrintManagementUser,
        Role::ScanManagementAdministrator,
        Role::ScanManagementUser,
        Role::TranslationAssistantAdministrator,
        Role::TranslationAssistantUser,
        Role::SolutionCenterAdministrator,
        Role::SolutionCenterAdvancedUser,
        Role::SolutionCenterUser,
        Role::SolutionsQuotaAdministrator,
        Role::RedactionAssistantUser,
        Role::AnnouncementCenterAuthorAdmin,
    ];

    /// The service the organisation must be entitled to for this role to count; `None`
    /// for the system roles.
    pub fn service(self) -> Option<Service> {
        use Role::*;
        match self {
            HelpDesk | OrganizationAdministrator | PartnerAdministrator | User | UserAdministrator => None,
            FileServiceAdministrator
            | FleetManagementAdministrator
            | FleetManagementReportingAnalyst
            | FleetManagementViewer => Some(Service::FleetManagement),
            PrintReleaseManagementAdministrator
            | PrintReleaseManagementReportingAnalyst
            | PrintReleaseManagementUser
            | PrintManagementGuestUser => Some(Service::PrintManagement),
            HybridPrintManagementAdministrator | HybridPrintManagementUser => Some(Service::HybridPrintManagement),
            DirectPrintManagementAdministrator | DirectPrintManagementUser => Some(Service::DirectPrintManagement),
            ScanManagementAdministrator | ScanManagementUser => Some(Service::ScanManagement),
            TranslationAssistantAdministrator | TranslationAssistantUser => Some(Service::TranslationAssistant),
            SolutionCenterAdministrator
            | SolutionCenterAdvancedUser
            | SolutionCenterUser
            | SolutionsQuotaAdministrator => Some(Service::SolutionCenter),
            RedactionAssistantUser => Some(Service::RedactionAssistant),
            AnnouncementCenterAuthorAdmin => Some(Service::AnnouncementCenter),
        }
    }

    /// What the role allows.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::HelpDesk => &[ViewOrganisation, ViewUsers],
            Role::OrganizationAdministrator => &[
                ViewOrganisation,
                ManageOrganisation,
                ViewUsers,
                ManageUsers,
                ManageRoles,
                ManageApplications,
                ManageBadgesAndPins,
                ViewFleet,
                ManageFleet,
            ],
            Role::PartnerAdministrator => &[ViewOrganisation, ManageChildOrganisations],
            Role::User => &[],
            Role::UserAdministrator => &[ViewOrganisation, ViewUsers, ManageUsers, ManageBadgesAndPins],
            Role::FileServiceAdministrator | Role::FleetManagementAdministrator => &[ViewFleet, ManageFleet],
            Role::FleetManagementReportingAnalyst | Role::FleetManagementViewer => &[ViewFleet],
            Role::PrintReleaseManagementAdministrator | Role::HybridPrintManagementAdministrator => {
                &[ManagePrintRelease, UsePrintRelease, ViewPrintReports]
            }
            Role::PrintReleaseManagementReportingAnalyst => &[ViewPrintReports],
            Role::PrintReleaseManagementUser | Role::HybridPrintManagementUser | Role::DirectPrintManagementUser => {
                &[UsePrintRelease]
            }
            Role::DirectPrintManagementAdministrator => &[ManagePrintRelease, UsePrintRelease],
            Role::SolutionCenterAdministrator => &[ManageSolutions, CreatePersonalSolutions, RunSolutions],
            Role::SolutionCenterAdvancedUser => &[CreatePersonalSolutions, RunSolutions],
            Role::SolutionCenterUser => &[RunSolutions],
            Role::SolutionsQuotaAdministrator => &[ManageSolutionQuotas],
            Role::PrintManagementGuestUser
            | Role::ScanManagementAdministrator
            | Role::ScanManagementUser
            | Role::TranslationAssistantAdministrator
            | Role::TranslationAssistantUser
            | Role::RedactionAssistantUser
            | Role::AnnouncementCenterAuthorAdmin => &[],
        }
    }
}

/// The roles that count for a caller: the union of the organisation's, the caller's
/// groups' and the caller's own assignments, without roles of services the organisation is
/// not entitled to.
pub fn effective_roles<'a>(
    assignments: impl IntoIterator<Item = &'a [Role]>,
    entitlements: &BTreeSet<Service>,
) -> BTreeSet<Role> {
    assignments
        .into_iter()
        .flatten()
        .copied()
        .filter(|role| role.service().is_none_or(|service| entitlements.contains(&service)))
        .collect()
}

/// Whether `roles` allow `permission`: the single authorisation decision every route uses.
pub fn allows(roles: &BTreeSet<Role>, permission: Permission) -> bool {
    roles.iter().any(|role| role.permissions().contains(&permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_role_names_are_the_catalogue_names() {
        let names: Vec<String> =
            Role::ALL.iter().map(|r| serde_json::to_value(r).unwrap().as_str().unwrap().to_string()).collect();
        assert!(names.contains(&"Print Release Management User".to_string()));
        assert!(names.contains(&"Organization Administrator".to_string()));
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), Role::ALL.len());
        for role in Role::ALL {
            let name = serde_json::to_string(&role).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&name).unwrap(), role);
        }
    }

    #[test]
    fn r_misc_effective_roles_are_the_union_of_all_levels() {
        let entitled: BTreeSet<Service> = Service::ALL.into_iter().collect();
        let org = [Role::PrintReleaseManagementUser];
        let group = [Role::FleetManagementViewer];
        let user = [Role::UserAdministrator];
        let roles = effective_roles([&org[..], &group[..], &user[..]], &entitled);
        assert_eq!(
            roles,
            BTreeSet::from([Role::PrintReleaseManagementUser, Role::FleetManagementViewer, Role::UserAdministrator])
        );
    }

    #[test]
    fn e_role_roles_count_only_where_the_org_is_entitled() {
        let print_only = BTreeSet::from([Service::PrintManagement]);
        let assigned = [Role::ScanManagementUser, Role::PrintReleaseManagementAdministrator, Role::HelpDesk];
        let roles = effective_roles([&assigned[..]], &print_only);
        assert_eq!(roles, BTreeSet::from([Role::PrintReleaseManagementAdministrator, Role::HelpDesk]));
        assert!(allows(&roles, Permission::ManagePrintRelease));
        assert!(!allows(&roles, Permission::ManageUsers));
    }

    #[test]
    fn r_sys_user_role_allows_no_administration() {
        let roles = BTreeSet::from([Role::User]);
        for permission in [Permission::ManageUsers, Permission::ViewUsers, Permission::ManageOrganisation] {
            assert!(!allows(&roles, permission));
        }
    }
}
